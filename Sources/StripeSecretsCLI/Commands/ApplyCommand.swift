import Apply
import ArgumentParser
import SecretsCore
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

                The key comes from STRIPE_API_KEY or --api-key-file; the API from STRIPE_API_BASE, \
                --api-base, or https://api.stripe.com.

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
            let (key, base, keySource) = try connection.resolve(environment: environment)
            let saved = try planFile.map { file in try Console.reportingErrors { try SavedPlan.load(file) } }
            let manifestPath = saved?.manifestPath ?? manifestOptions.file
            let store =
                stateOptions.path.map(StateStore.init) ?? saved.map { StateStore(path: $0.statePath) }
                ?? stateOptions.store(manifest: manifestPath)

            let lock = try Console.reportingErrors {
                try StateLock.acquire(store, operation: "apply", timeout: lockOptions.lockTimeout.seconds)
            }
            defer { withExtendedLifetime(lock) {} }
            let state = try Console.reportingErrors { () throws -> State in
                try store.recoverJournal()
                if let state = try store.load() { return state }
                guard saved == nil else {
                    throw Console.fail("\(store.path) does not exist, but \(planFile ?? "") was planned against it")
                }
                let fresh = State()
                try store.save(fresh)
                return fresh
            }
            if let mode = state.mode, mode != key.mode {
                throw Console.fail(
                    "\(store.path) belongs to \(mode.rawValue) mode but \(keySource) is a \(key.mode.rawValue) key (\(key)).\n"
                        + "       Use the \(key.mode.rawValue) environment's state file.")
            }

            let work: Work
            if let saved, let planFile {
                work = try Self.reviewedWork(saved, planFile: planFile, state: state, environment: environment)
            } else {
                work = try plannedWork(manifestPath: manifestPath, store: store, state: state, environment: environment)
            }
            guard !work.changes.isEmpty else {
                Console.printLine("No changes to apply. \(work.unchangedCount.counted("secret")) match \(store.path).")
                return
            }
            if saved == nil, !autoApprove { try confirm(work.changes.count, mode: key.mode) }

            let journal = try Console.reportingErrors {
                try Journal.start(
                    for: store, header: Journal.Header(lineage: state.lineage, serial: state.serial, mode: key.mode))
            }
            let client = SecretStoreClient(
                configuration: .init(
                    baseURL: base, apiKey: key, stripeVersion: connection.stripeVersion,
                    userAgent: "stripe-secrets/\(ToolVersion.current)", rateLimit: connection.rateLimit))
            Console.printLine(
                ApplyProgressView.header(
                    count: work.changes.count, mode: key.mode, parallelism: parallelism,
                    rate: client.configuration.effectiveRateLimit))
            let progress = ApplyProgressView(
                total: work.changes.count, addresses: work.changes.map(\.address), terminal: Console.showsProgress)
            let applier = Applier(
                client: client, journal: journal, parallelism: parallelism, lineage: state.lineage,
                serial: state.serial,
                now: { Console.now })
            let events = await applier.run(work.changes, values: work.values) { progress.show($0) }
            progress.finish()
            await client.shutdown()

            try Console.reportingErrors { try store.recoverJournal() }
            let serial = (try? store.load())?.serial ?? state.serial + 1
            let failed = events.filter { if case .failure = $0.result { true } else { false } }.count
            let applied = events.count - failed
            var summary = "\nApply finished: \(applied) of \(work.changes.count) changes applied"
            summary += failed > 0 ? ", \(failed) failed." : "."
            Console.printLine(summary + " State saved (serial \(serial)).")
            if failed > 0 {
                Console.printLine("Run `stripe-secrets plan` to see what is left.")
                throw ExitCode.failure
            }
        }

        /// The changes to make, with the values they send.
        struct Work {
            var changes: [SecretsCore.Plan.Change]
            var values: [SecretAddress: SecretValue]
            var unchangedCount: Int
        }

        /// A saved plan, checked against the state and the values as they are now.
        static func reviewedWork(
            _ saved: SavedPlan, planFile: String, state: State, environment: Environment
        ) throws -> Work {
            guard saved.lineage == state.lineage else {
                throw Console.fail(
                    "\(planFile) was made for another state than \(saved.statePath) (lineage differs). Plan again.")
            }
            guard saved.serial == state.serial else {
                throw Console.fail(
                    "\(planFile) is stale: \(saved.statePath) moved from serial \(saved.serial) to \(state.serial) since it was planned.\n"
                        + "       Plan again: stripe-secrets plan --out \(planFile)")
            }
            guard saved.plan.isComplete else {
                throw Console.fail(
                    "\(planFile) has unknown values and cannot be applied; plan again with every value readable")
            }
            let manifest = try Console.reportingErrors {
                try FileReader.contents(of: saved.manifestPath, maxBytes: ManifestLoader.maxBytes)
            }
            guard SHA256Digest.hex(of: manifest) == saved.manifestDigest else {
                throw Console.fail(
                    "\(saved.manifestPath) changed since \(planFile) was made. Plan again to review the change.")
            }
            let resolver = ValueResolver(
                environment: environment, directory: ManifestLoader.directory(of: saved.manifestPath))
            var values: [SecretAddress: SecretValue] = [:]
            for change in saved.plan.changes where change.action == .create || change.action == .replace {
                guard let source = change.source, let planned = change.fingerprintAfter else { continue }
                switch resolver.resolve(source) {
                case .failure(let problem):
                    throw Console.fail("cannot read the value of \(change.address): \(problem.message)")
                case .success(let value):
                    guard state.fingerprintKey.fingerprint(of: value, at: change.address) == planned else {
                        throw Console.fail(
                            "the value of \(change.address) changed since \(planFile) was made\n"
                                + "       (\(source)). Plan again to review the new change.")
                    }
                    values[change.address] = value
                }
            }
            return Work(changes: saved.plan.changes, values: values, unchangedCount: saved.plan.unchanged.count)
        }

        /// A plan made now from the manifest, shown before it is confirmed.
        private func plannedWork(manifestPath: String, store: StateStore, state: State, environment: Environment) throws
            -> Work
        {
            let checked = try Console.check(manifestPath, values: .required)
            let desired = DesiredSecret.from(checked.values, key: state.fingerprintKey)
            let plan = Planner.plan(desired: desired, state: state, now: Console.now)
            if !plan.isEmpty {
                let saved = SavedPlan(
                    createdAt: Console.now, manifestPath: manifestPath, manifestDigest: checked.digest,
                    statePath: store.path,
                    lineage: state.lineage, serial: state.serial, mode: state.mode, plan: plan)
                Console.writeOut(PlanTextView(saved: saved, colour: Console.usesColour, title: "plan").render() + "\n")
            }
            var values: [SecretAddress: SecretValue] = [:]
            for resolution in checked.values {
                if case .success(let value) = resolution.result { values[resolution.declaration.address] = value }
            }
            return Work(changes: plan.changes, values: values, unchangedCount: plan.unchanged.count)
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
