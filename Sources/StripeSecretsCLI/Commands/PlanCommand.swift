import ArgumentParser
import SecretsCore
import StateStorage

extension StripeSecrets {
    /// `plan`: what `apply` would change, worked out offline from the manifest and the state.
    struct PlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what would be created, replaced or deleted. Offline: no call to Stripe.",
            discussion: """
                Compares the manifest (values read and fingerprinted, never shown) with the state. \
                The first plan for a manifest creates an empty state (a file beside it, or a row \
                in the PostgreSQL database that --state names).

                Examples:
                  stripe-secrets plan
                  stripe-secrets plan --out plan.json            # save it for review, then apply it
                  stripe-secrets plan --format markdown > comment.md
                  stripe-secrets plan --detailed-exitcode        # exit 2 when there are changes
                """
        )

        @OptionGroup var manifestOptions: ManifestOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions

        @Option(help: ArgumentHelp("Save the plan to this file (JSON, mode 0600).", valueName: "planfile"))
        var out: String?

        @Option(help: "text, json or markdown.")
        var format: PlanFormat = .text

        @Flag(help: "Exit 0 with no changes, 2 with changes, 1 on error.")
        var detailedExitcode = false

        @Flag(help: "Show secrets whose values cannot be read as unknown instead of failing.")
        var allowUnresolved = false

        func run() async throws {
            let manifestPath = manifestOptions.file
            let checked = try Console.check(manifestPath, values: allowUnresolved ? .allowUnresolved : .required)
            let location = try stateOptions.resolve(manifest: manifestPath)
            if let out { try Self.checkOutputPath(out, manifest: manifestPath, state: location) }
            let now = Console.now
            let (saved, applying) = try await location.using { backend in
                let state = try await backend.loadOrCreate(lockTimeout: lockOptions.lockTimeout.seconds)
                let desired = DesiredSecret.from(checked.values, key: state.fingerprintKey)
                let saved = SavedPlan(
                    createdAt: now, manifestPath: manifestPath, manifestDigest: checked.digest,
                    statePath: backend.name, lineage: state.lineage, serial: state.serial, mode: state.mode,
                    plan: Planner.plan(desired: desired, state: state, now: now))
                return (saved, try await backend.hasJournal())
            }
            if applying {
                Console.printError(
                    "note: an apply is running on \(saved.statePath), or was interrupted; its completed calls are "
                        + "shown, and a plan saved now will be stale once they are recorded")
            }
            if let out {
                guard saved.plan.isComplete else {
                    throw Console.fail(
                        "some values could not be read, so the plan cannot be saved to \(out); "
                            + "make them readable, or plan without --out")
                }
                try Console.reportingErrors { try AtomicFile.write(saved.encoded(), to: out) }
            }
            print(PlanRendering.render(saved, format: format, title: "plan", planFile: out), terminator: "")
            if let out, !saved.plan.isEmpty {
                let note = "Saved to \(out); apply it with: stripe-secrets apply \(out)"
                if format == .text { print(note) } else { Console.printError(note) }
            }
            if detailedExitcode, !saved.plan.isEmpty { throw ExitCode(2) }
        }
    }
}

extension StripeSecrets.PlanCommand {
    /// `--out` may replace an older plan, never the manifest, the state or its companions, nor
    /// a file that is not a plan.
    static func checkOutputPath(_ out: String, manifest: String, state: StateLocation) throws {
        var protected = [manifest]
        if case .file(let path) = state { protected += FileStateBackend(path: path).companionPaths }
        if protected.contains(where: { FileIdentity.same(out, $0) }) {
            throw Console.fail("--out \(out) is the manifest or part of the state; write the plan to its own file")
        }
        if FileIdentity.exists(out) {
            do {
                _ = try SavedPlan.load(out)
            } catch {
                throw Console.fail("--out \(out) exists and is not a stripe-secrets plan; it was left untouched")
            }
        }
    }
}

/// Picks the view for a format.
enum PlanRendering {
    static func render(_ saved: SavedPlan, format: PlanFormat, title: String, planFile: String?) -> String {
        switch format {
        case .text: PlanTextView(saved: saved, colour: Console.usesColour, title: title).render()
        case .markdown: PlanMarkdownView(saved: saved, planFile: planFile).render()
        case .json: String(decoding: saved.encoded(), as: UTF8.self)
        }
    }
}
