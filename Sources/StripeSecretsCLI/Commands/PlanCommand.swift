import ArgumentParser
import Foundation
import Refresh
import SecretsCore
import StateStorage

extension StripeSecrets {
    /// `plan`: what `apply` would change, worked out offline from the manifest and the state.
    struct PlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what would be created, replaced or deleted; offline unless asked to refresh.",
            discussion: """
                Compares the manifest (values read and fingerprinted, never shown) with the state. \
                The first plan for a manifest creates an empty state (a file beside it, or a row \
                in the PostgreSQL database that --state names).

                --refresh also asks Stripe what each managed scope holds (one listing per scope and \
                100 secrets): secrets deleted or expired outside stripe-secrets are planned again, \
                changed expiries replaced, and secrets nothing manages listed as notes, never \
                touched. --refresh-values also reads each managed value (one find per secret), \
                compares its fingerprint in memory and drops it. Both need STRIPE_API_KEY; plain \
                plan needs no key.

                Examples:
                  stripe-secrets plan
                  stripe-secrets plan --out plan.json      # save for review, then apply it
                  stripe-secrets plan --format markdown > comment.md
                  stripe-secrets plan --detailed-exitcode  # exit 2 when there are changes
                  stripe-secrets plan --refresh-values --detailed-exitcode   # a drift check
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

        @Flag(help: "Also list what Stripe holds in every managed scope (needs STRIPE_API_KEY).")
        var refresh = false

        @Flag(
            help:
                "As --refresh, and compare each managed value's fingerprint with Stripe's (needs a key that may read them)."
        )
        var refreshValues = false

        @Option(
            help: ArgumentHelp(
                "Warn about managed secrets that expire within this long, e.g. 30d, 12h; 0 turns it off.",
                valueName: "duration"))
        var expiryWarning = DurationArgument(seconds: 30 * DurationArgument.day)

        @Flag(help: "Exit 1 when any secret expires within the warning horizon (for scheduled checks).")
        var failOnExpiry = false

        @OptionGroup(title: "Stripe (--refresh, --refresh-values)") var connection: ConnectionOptions

        func run() async throws {
            let manifestPath = manifestOptions.file
            let preload = StatePreload.start(stateOptions, manifest: manifestPath)
            do {
                try await plan(manifestPath: manifestPath, preload: preload)
            } catch {
                preload?.discard()
                throw error
            }
        }

        private func plan(manifestPath: String, preload: StatePreload?) async throws {
            let checked = try Console.check(manifestPath, values: allowUnresolved ? .allowUnresolved : .required)
            let manifestDigest = checked.digest
            let declaresSecrets = !checked.values.isEmpty
            // The manifest and its text go now, the values (plaintext included) once they are
            // fingerprinted: at 100,000 secrets they are a third of the plan's peak memory.
            var values = Optional((consume checked).values)
            let location = try stateOptions.resolve(manifest: manifestPath)
            if let out { try Self.checkOutputPath(out, manifest: manifestPath, state: location) }
            // The key is checked before the state is touched: a refresh without one fails at once.
            let stripe = try (refresh || refreshValues) ? connection.connection(environment: .process) : nil
            let now = Console.now
            let (saved, applying, cost, missing) = try await location.loading(preload: preload) { backend, read in
                let state: State
                if let found = read.found {
                    state = found
                } else {
                    state = try await backend.loadOrCreate(lockTimeout: lockOptions.lockTimeout.seconds)
                }
                let desired = DesiredSecret.from(values.take() ?? [], key: state.fingerprintKey)
                var seen: StripeReader.Result?
                if let stripe {
                    try stripe.checkMode(of: state, named: backend.name)
                    seen = try await stripe.withClient { client in
                        try await StripeReader(client: client, mode: stripe.key.mode, parallelism: 8).read(
                            scopes: Planner.managedScopes(desired: desired, state: state),
                            valuesOf: refreshValues ? Set(desired.map(\.address)) : nil, key: state.fingerprintKey)
                    }
                }
                var plan = Planner.plan(desired: desired, state: state, now: now, stripe: seen?.view)
                plan.expiring = Planner.expiring(
                    desired: desired, stripe: seen?.view, now: now, within: Int64(expiryWarning.seconds))
                let refusals = plan.refusals(in: state, manifestPath: manifestPath)
                guard refusals.isEmpty else {
                    for refusal in refusals { Console.printError("error: \(refusal)") }
                    throw ExitCode.failure
                }
                let saved = SavedPlan(
                    createdAt: now, manifestPath: manifestPath,
                    folder: FileManager.default.currentDirectoryPath, manifestDigest: manifestDigest,
                    statePath: backend.name, lineage: state.lineage, serial: state.serial, mode: state.mode,
                    plan: plan)
                return (saved, read.hasJournal, seen, read.found == nil && state.secrets.isEmpty)
            }
            // No state was there (the one planned against was created now, or by another run
            // meanwhile, and holds nothing) while the manifest declares secrets: perhaps the wrong
            // --state.
            let missingState =
                missing && declaresSecrets
                ? MissingState(statePath: saved.statePath, manifestPath: manifestPath) : nil
            if let missingState, format == .json { Console.printError(missingState.text) }
            if let cost, cost.payloadsUnreadable {
                Console.printError(
                    "note: this key may not read secret values, so they were not compared; planned as --refresh "
                        + "(secrets deleted, expired or re-dated in Stripe are still shown)")
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
            let refreshCost = cost.map { RefreshCost(scopes: $0.scopes, values: $0.values, requests: $0.requests) }
            Console.streamOut { output in
                PlanRendering.render(
                    saved, format: format, title: "plan", planFile: out, refreshCost: refreshCost,
                    missingState: missingState, to: &output)
                if let out {
                    let note =
                        saved.plan.isEmpty
                        ? "Saved to \(out) (no changes: applying it does nothing)"
                        : "Saved to \(out); apply it with: stripe-secrets apply \(out)"
                    if format == .text { output.write(note + "\n") } else { Console.printError(note) }
                }
            }
            if format != .text {
                for warning in saved.plan.expiring { Console.printError(ExpiryText.warning(warning, now: now)) }
            }
            if failOnExpiry, !saved.plan.expiring.isEmpty {
                let count = saved.plan.expiring.count
                Console.printError(
                    "error: \(count.counted("secret")) \(count == 1 ? "expires" : "expire") within "
                        + "\(expiryWarning.defaultValueDescription) (--fail-on-expiry)")
                throw ExitCode.failure
            }
            if detailedExitcode, !saved.plan.isEmpty { throw ExitCode(2) }
        }
    }
}

extension StripeSecrets.PlanCommand {
    /// `--out` may replace an older plan, never the manifest, the state or its companions, nor
    /// a file that is not a plan.
    static func checkOutputPath(_ out: String, manifest: String, state: StateTarget) throws {
        var protected = [manifest]
        if case .file(let path) = state.location { protected += FileStateBackend(path: path).companionPaths }
        let folder = ManifestLoader.directory(of: out)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw Console.fail(
                "--out \(out): the folder \(folder) does not exist; create it, or save the plan elsewhere")
        }
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
    static func render(
        _ saved: SavedPlan, format: PlanFormat, title: String, planFile: String?, refreshCost: RefreshCost? = nil,
        missingState: MissingState? = nil, to output: inout ChunkedOutput
    ) {
        switch format {
        case .text:
            PlanTextView(
                saved: saved, colour: Console.usesColour, title: title, refreshCost: refreshCost,
                missingState: missingState
            ).render(to: &output)
        case .markdown:
            PlanMarkdownView(saved: saved, planFile: planFile, missingState: missingState).render(to: &output)
        case .json: saved.encode(inChunksOf: ChunkedOutput.chunkSize) { output.write(bytes: $0) }
        }
    }
}
