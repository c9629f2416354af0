import Apply
import ArgumentParser
import Foundation
import Refresh
import SecretsCore
import SecretsModel
import StateStorage
import StripeAPI

extension StripeSecrets {
    /// `apply`: makes Stripe match a reviewed plan (or a plan made now and confirmed).
    struct ApplyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Make Stripe match the manifest: run a saved plan, or plan now and confirm.",
            discussion: """
                With PLANFILE, runs exactly that plan, after checking that the state has not moved \
                on and that every value still has its planned fingerprint (the manifest and state \
                are the plan's). Without it, plans, shows the plan and asks for confirmation on a \
                terminal; elsewhere --auto-approve is required. Each completed call is recorded \
                before the next; a second apply with nothing to change makes no request.

                The key comes from --api-key-file, else STRIPE_API_KEY; the API from --api-base, \
                else STRIPE_API_BASE, else https://api.stripe.com.

                Examples:
                  stripe-secrets plan --out plan.json && stripe-secrets apply plan.json
                  stripe-secrets apply --auto-approve                  # in a deployment job
                  STRIPE_API_BASE=http://127.0.0.1:12111 stripe-secrets apply plan.json
                """
        )

        @Argument(help: ArgumentHelp("A plan saved by plan --out.", valueName: "planfile"))
        var planFile: String?

        @OptionGroup var manifestOptions: ManifestOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Apply without asking (needed when not run from a terminal and no plan file is given).")
        var autoApprove = false

        @Option(help: "How many calls may be in flight at once.")
        var parallelism = 8

        func validate() throws {
            guard (1...64).contains(parallelism) else {
                throw ValidationError("--parallelism must be between 1 and 64")
            }
        }

        func run() async throws {
            let environment = Environment.process
            let stripe = try connection.connection(environment: environment)
            let saved = try planFile.map { file in try Console.reportingErrors { try SavedPlan.load(file) } }
            if let saved, let planFile { try Self.checkFolder(of: saved, planFile: planFile) }
            let manifestPath = saved?.manifestPath ?? manifestOptions.file
            let location = try stateLocation(for: saved, manifest: manifestPath)

            try await stripe.withClient { client in
                try await location.using { backend in
                    // A saved plan is checked before the lock is taken or any file is written.
                    var reviewed: (state: State, work: ApplyWork)?
                    if let saved, let planFile {
                        guard !(try await backend.hasJournal()) else {
                            throw ApplyRefusal(
                                "\(backend.name) has the journal of a running or interrupted apply, so \(planFile) will "
                                    + "be stale once it is folded in. Let that apply finish (or run stripe-secrets apply to "
                                    + "finish it), then plan again")
                        }
                        guard let state = try await backend.load() else {
                            throw ApplyRefusal("\(backend.name) does not exist, but \(planFile) was planned against it")
                        }
                        try stripe.checkMode(of: state, named: backend.name)
                        reviewed = (state, try await review(saved, planFile: planFile, state: state, client: client))
                    }
                    try await backend.withLock(operation: "apply", timeout: lockOptions.lockTimeout.seconds) { locked in
                        let run = ApplyRun(
                            locked: locked, client: client, parallelism: parallelism, now: { Console.now })
                        try await apply(
                            saved: saved, reviewed: reviewed, manifestPath: manifestPath, backend: backend,
                            run: run, stripe: stripe, client: client)
                    }
                }
            }
        }

        /// A saved plan checked against the manifest, the state and (for a refreshed plan) Stripe.
        private func review(_ saved: SavedPlan, planFile: String, state: State, client: SecretStoreClient)
            async throws -> ApplyWork
        {
            let reader = StripeReader(client: client, mode: client.configuration.apiKey.mode, parallelism: parallelism)
            return try await ApplyWork(
                reviewing: saved, planFile: planFile, state: state, environment: .process, now: Console.now
            ) { scopes, values in
                try await reader.read(scopes: scopes, valuesOf: values, key: state.fingerprintKey).view
            }
        }

        /// Refuses a plan made in another folder when its paths are relative: they would name other
        /// files here. The recorded folder is only named, never followed.
        static func checkFolder(of saved: SavedPlan, planFile: String) throws {
            guard let folder = saved.folder, !saved.manifestPath.hasPrefix("/"),
                !FileIdentity.same(folder, FileManager.default.currentDirectoryPath)
            else { return }
            let absolute =
                planFile.hasPrefix("/") ? planFile : FileManager.default.currentDirectoryPath + "/" + planFile
            throw Console.fail(
                "\(planFile) was made in \(TerminalText.safe(folder)), and its manifest (\(TerminalText.safe(saved.manifestPath))) "
                    + "and state (\(TerminalText.safe(saved.statePath))) are named from there. Apply it from that folder:\n"
                    + "       cd \(TerminalText.safe(folder)) && stripe-secrets apply \(TerminalText.safe(absolute))")
        }

        /// Where the state is: as the flags or the environment say, else the state of the plan's
        /// manifest. The plan's own `state.path` is only compared, never followed: a plan file
        /// cannot point the tool at another file (an older copy, a backup) or at another database
        /// (with the user's password).
        private func stateLocation(for saved: SavedPlan?, manifest: String) throws -> StateTarget {
            let location = try stateOptions.resolve(manifest: manifest)
            guard let saved, let planFile, !stateOptions.isExplicit else { return location }
            guard location.description == saved.statePath else {
                throw Console.fail(
                    "\(planFile) was planned against \(TerminalText.safe(saved.statePath)), but the state of "
                        + "\(TerminalText.safe(manifest)) is \(location); if that plan is meant for the other one, name it "
                        + "with --state (or STRIPE_SECRETS_STATE) and --workspace")
            }
            return location
        }

        /// The apply itself, under the lock: the starting state, the work, confirmation, progress
        /// and the summary.
        private func apply(
            saved: SavedPlan?, reviewed: (state: State, work: ApplyWork)?, manifestPath: String,
            backend: any StateBackend, run: ApplyRun, stripe: StripeConnection, client: SecretStoreClient
        ) async throws {
            // Without a plan file the manifest is checked once the lock is held (so its values are
            // those of now, not of before a wait for the lock), on this thread while another reads
            // the state. Not the other way round: libyaml reallocates as it scans, and on a thread
            // holding memory from the one reading the state every realloc would wait for that
            // thread's malloc arena (glibc), which made a no-op apply 1.2x a plan.
            let fresh = saved == nil ? backend.newState() : nil
            let starting = Task { try await run.startingState(creating: fresh) }
            let manifest = saved == nil ? Console.checked(manifestPath, values: .required) : nil
            let key = stripe.key
            let stateName = backend.name
            guard let state = try await starting.value else {
                throw ApplyRefusal("\(stateName) does not exist, but \(planFile ?? "") was planned against it")
            }
            try stripe.checkMode(of: state, named: stateName)
            let work: ApplyWork
            if let reviewed, reviewed.state == state {
                work = reviewed.work  // checked before the lock, against this very state
            } else if let saved, let planFile {
                work = try await review(saved, planFile: planFile, state: state, client: client)
            } else if let manifest {
                // Its problems are printed here, where checking it after the state would print
                // them: a run that stops before (a state of the other mode) never shows them.
                let checked = try Console.take(consume manifest)
                work = try plannedWork(checked, manifestPath: manifestPath, stateName: stateName, state: state)
            } else {
                preconditionFailure("apply has either a plan file or a manifest to plan from")
            }
            guard !work.isEmpty else {
                Console.printLine("No changes to apply. \(work.unchangedCount.counted("secret")) match \(stateName).")
                return
            }
            if saved == nil, !autoApprove {
                try confirm(work.changes.count + work.protection.count, mode: key.mode)
            }
            guard !work.changes.isEmpty else {
                let outcome = try await run.execute(work, on: state, mode: key.mode) { _ in }
                Console.printLine(
                    "Recorded the protection of \(work.protection.count.counted("secret")) (no call to Stripe). "
                        + "State saved (serial \(outcome.serial)).")
                return
            }

            Console.printLine(
                ApplyProgressView.header(
                    count: work.changes.count, mode: key.mode, parallelism: parallelism,
                    rate: client.configuration.effectiveRateLimit))
            let progress = ApplyProgressView(
                total: work.changes.count, addresses: work.changes.map(\.address), terminal: Console.showsProgress)
            let outcome = try await run.execute(work, on: state, mode: key.mode) { progress.show($0) }
            progress.finish()

            var summary = "\nApply finished: \(outcome.appliedCount) of \(work.changes.count) changes applied"
            summary += outcome.failedCount > 0 ? ", \(outcome.failedCount) failed." : "."
            let written = outcome.serial == state.serial ? "unchanged" : "saved"
            Console.printLine(summary + " State \(written) (serial \(outcome.serial)).")
            if let outage = outcome.outage {
                Console.printError(
                    "Stripe stopped answering mid-apply (\(outage.description)), so the run stopped: "
                        + "\(outcome.notAttemptedCount.counted("change")) not attempted. Every call that completed is "
                        + "recorded in \(stateName); once Stripe answers, run stripe-secrets apply again to finish the job."
                )
            }
            if outcome.failedCount > 0 {
                Console.printLine("Run `stripe-secrets plan` to see what is left.")
                throw ExitCode.failure
            }
        }

        /// A plan made now from the manifest, shown before it is confirmed.
        private func plannedWork(
            _ checked: CheckedManifest, manifestPath: String, stateName: String, state: State
        ) throws -> ApplyWork {
            let desired = DesiredSecret.from(checked.values, key: state.fingerprintKey)
            let plan = Planner.plan(desired: desired, state: state, now: Console.now)
            if let refusal = plan.refusals(in: state, manifestPath: manifestPath).first {
                throw ApplyRefusal(refusal)
            }
            if !plan.isEmpty {
                let saved = SavedPlan(
                    createdAt: Console.now, manifestPath: manifestPath, manifestDigest: checked.digest,
                    statePath: stateName, lineage: state.lineage, serial: state.serial, mode: state.mode, plan: plan)
                Console.streamOut { output in
                    PlanTextView(saved: saved, colour: Console.usesColour, title: "plan").render(to: &output)
                    output.write("\n")
                }
            }
            return ApplyWork(plan: plan, resolved: checked.values)
        }

        /// Asks on a terminal; refuses anywhere else without --auto-approve.
        private func confirm(_ count: Int, mode: StripeMode) throws {
            guard Console.canAsk else {
                throw Console.fail(
                    "apply without a plan file needs --auto-approve when it is not run from a terminal "
                        + "(or apply a reviewed plan: stripe-secrets plan --out plan.json, then stripe-secrets apply plan.json)"
                )
            }
            Console.writeError("Apply \(count.counted("change")) in \(mode.rawValue) mode? Only 'yes' is accepted: ")
            guard readLine() == "yes" else { throw Console.fail("apply cancelled; nothing was changed") }
        }
    }
}
