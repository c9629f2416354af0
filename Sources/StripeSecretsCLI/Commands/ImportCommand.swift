import ArgumentParser
import Refresh
import SecretsCore
import SecretsModel
import StateStorage

extension StripeSecrets {
    /// `import`: adopts secrets that already exist in Stripe into the state, without writing them.
    struct ImportCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Adopt secrets that already exist in Stripe into the state (Stripe is only read).",
            discussion: """
                Each address must be a secret of the manifest that Stripe holds and the state does \\
                not record yet; --all takes every such secret. The state records Stripe's id and \\
                expiry, and the fingerprint of Stripe's value when the key may read it (the value \\
                itself is dropped at once): the next plan then shows no change when the manifest's \\
                value matches, and a replace when it does not. Without read access to values the \\
                fingerprint is unknown, and the next plan replaces the secret.

                Examples:
                  stripe-secrets import --all
                  stripe-secrets import account/openai_api_key \\
                    acct_1Nv0FGQ9RKHgCVdK/account/partner_token
                  stripe-secrets import --all \\
                    --state postgres://ci@db.internal:5432/secrets --workspace prod
                """
        )

        @Argument(help: ArgumentHelp("Addresses to import.", valueName: "address"))
        var addresses: [String] = []

        @Flag(help: "Import every secret of the manifest that Stripe holds and the state does not record.")
        var all = false

        @OptionGroup var manifestOptions: ManifestOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup(title: "Stripe") var connection: ConnectionOptions

        func validate() throws {
            guard all != !addresses.isEmpty else {
                throw ValidationError("name the addresses to import, or pass --all (not both)")
            }
            for text in addresses where SecretAddress(validating: text) == nil {
                throw ValidationError(
                    "'\(text)' is not an address; write [acct_…/]account/NAME or [acct_…/]user:usr_…/NAME")
            }
        }

        func run() async throws {
            let manifestPath = manifestOptions.file
            let checked = try Console.check(manifestPath, values: .allowUnresolved)
            let declared = Dictionary(
                checked.values.map { ($0.declaration.address, $0) }, uniquingKeysWith: { first, _ in first })
            var named: [SecretAddress] = []
            for address in addresses.compactMap({ SecretAddress(validating: $0) }) where !named.contains(address) {
                guard declared[address] != nil else {
                    let hint =
                        EditDistance.closest(to: address.description, among: declared.keys.map(\.description))
                        .map { " (did you mean \($0)?)" } ?? ""
                    throw Console.fail(
                        "\(address) is not in \(manifestPath)\(hint); declare it there first, then import it")
                }
                named.append(address)
            }
            let stripe = try connection.connection(environment: .process)
            let location = try stateOptions.resolve(manifest: manifestPath)
            let report = try await stripe.withClient { client in
                try await location.using { backend in
                    try await backend.withLock(operation: "import", timeout: lockOptions.lockTimeout.seconds) {
                        locked in
                        try await adopt(
                            named, declared: declared, manifestPath: manifestPath, locked: locked,
                            backend: backend, stripe: stripe,
                            reader: StripeReader(client: client, mode: stripe.key.mode, parallelism: 8))
                    }
                }
            }
            Console.streamOut { output in for line in report.lines { output.write(line + "\n") } }
            Console.printLine(report.summary)
        }

        private struct Report {
            var lines: [String] = []
            var summary: String
        }

        /// Under the lock: reads Stripe, records what it holds, saves the state once.
        private func adopt(
            _ named: [SecretAddress], declared: [SecretAddress: ValueResolution], manifestPath: String,
            locked: any LockedState, backend: any StateBackend, stripe: StripeConnection, reader: StripeReader
        ) async throws -> Report {
            let stateName = backend.name
            try await locked.recoverJournal()
            let saved = try await locked.loadSaved()
            var state = saved ?? backend.newState()
            try stripe.checkMode(of: state, named: stateName)
            if let recorded = named.first(where: { state.secrets[$0] != nil }) {
                throw Console.fail(
                    "\(recorded) is already in \(stateName); import only adopts what the state does not record "
                        + "(see stripe-secrets state list)")
            }
            let targets = all ? declared.keys.filter { state.secrets[$0] == nil }.sorted() : named
            let scopes = Set(targets.map(\.scopeKey)).sorted()
            let seen = try await reader.read(scopes: scopes, valuesOf: Set(targets), key: state.fingerprintKey)
            if let missing = named.first(where: { seen.view.secrets[$0] == nil }) {
                throw Console.fail(
                    "\(missing) is not in Stripe (\(stripe.key.mode.rawValue) mode); nothing was imported")
            }
            let found = targets.filter { seen.view.secrets[$0] != nil }
            guard !found.isEmpty else {
                return Report(
                    summary: "Nothing to import: no secret of \(manifestPath) that \(stateName) does not record is in "
                        + "Stripe.")
            }
            var report = Report(summary: "")
            let now = Console.now
            for address in found {
                guard let observed = seen.view.secrets[address], let resolution = declared[address] else { continue }
                state.record(
                    State.Entry(
                        id: observed.id, fingerprint: observed.fingerprint, expiresAt: observed.expiresAt,
                        appliedAt: now, protectedSince: resolution.declaration.protect ? state.serial + 1 : nil),
                    at: address)
                let verdict = Self.verdict(observed, resolution, key: state.fingerprintKey, manifestPath: manifestPath)
                report.lines.append("imported  \(address)  \(observed.id)  \(verdict)")
            }
            if seen.payloadsUnreadable {
                Console.printError(
                    "note: this key may not read secret values; the imported values are unknown, so the next plan "
                        + "replaces them")
            }
            state.mode = stripe.key.mode
            state.serial += 1
            try await locked.save(state, replacing: saved?.serial)
            report.summary = "\(found.count.counted("secret")) imported into \(stateName) (serial \(state.serial))."
            return report
        }

        /// How an imported secret compares with the manifest, as the next plan will see it.
        private static func verdict(
            _ observed: Plan.Observed, _ resolution: ValueResolution, key: FingerprintKey, manifestPath: String
        ) -> String {
            let address = resolution.declaration.address
            var notes: [String] = []
            if observed.fingerprint == nil {
                notes.append("value not readable with this key")
            } else if case .success(let value) = resolution.result {
                if key.fingerprint(of: value, at: address) != observed.fingerprint { notes.append("value differs") }
            } else {
                notes.append("value not compared (its source in \(manifestPath) cannot be read)")
            }
            if observed.expiresAt != resolution.declaration.expiresAt { notes.append("expires_at differs") }
            guard !notes.isEmpty else { return "value matches \(manifestPath)" }
            return notes.joined(separator: ", ") + ": the next plan replaces it"
        }
    }
}
