import ArgumentParser
import SecretsCore
import SecretsModel
import StateStorage

extension StripeSecrets {
    /// `state list` and `state rm`: read or edit the state without touching Stripe.
    struct StateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "List, forget, pull, push or rekey the state (Stripe is not touched).",
            subcommands: [List.self, Remove.self, Pull.self, Push.self, Rekey.self]
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list",
                abstract: "List the secrets the state records: address, id, expiry, when applied.",
                discussion: """
                    Examples:
                      stripe-secrets state list
                      stripe-secrets state list --state prod.state.json
                      stripe-secrets state list \\
                        --state postgres://ci@db.internal:5432/secrets --workspace prod
                    """
            )

            @OptionGroup var manifestOptions: ManifestOptions
            @OptionGroup var stateOptions: StateOptions

            func run() async throws {
                let location = try stateOptions.resolve(manifest: manifestOptions.file)
                guard let state = try await location.using({ try await $0.load() }) else {
                    throw Console.fail("\(location) does not exist; run stripe-secrets plan, or pass --state")
                }
                let rows = state.secrets.sorted { $0.key < $1.key }.map { address, entry in
                    [
                        TerminalText.safe(address.description), TerminalText.safe(entry.id),
                        entry.expiresAt.map(Timestamp.format) ?? "-",
                        Timestamp.format(entry.appliedAt),
                    ]
                }
                let header = ["ADDRESS", "ID", "EXPIRES", "APPLIED"]
                if !rows.isEmpty { Console.writeOut(Table.render([header] + rows)) }
                let mode = state.mode.map { "\($0.rawValue) mode" } ?? "no apply yet"
                Console.printLine(
                    "\(state.secrets.count.counted("secret")) in \(location) (serial \(state.serial), \(mode))")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rm",
                abstract: "Forget secrets without deleting them in Stripe.",
                discussion: """
                    The next plan shows them as new if the manifest still declares them. The \
                    previous state is kept as STATE.backup.

                    Examples:
                      stripe-secrets state rm account/legacy_api_key
                      stripe-secrets state rm \\
                        acct_1Nv0FGQ9RKHgCVdK/user:usr_OkDR2bKzwpXu3s/oauth_token
                    """
            )

            @Argument(help: ArgumentHelp("Addresses to forget.", valueName: "address"))
            var addresses: [String]

            @OptionGroup var manifestOptions: ManifestOptions
            @OptionGroup var stateOptions: StateOptions
            @OptionGroup var lockOptions: LockOptions

            func validate() throws {
                guard !addresses.isEmpty else { throw ValidationError("name at least one address to forget") }
                for text in addresses where SecretAddress(validating: text) == nil {
                    throw ValidationError(
                        "'\(text)' is not an address; write [acct_…/]account/NAME or [acct_…/]user:usr_…/NAME")
                }
            }

            func run() async throws {
                let location = try stateOptions.resolve(manifest: manifestOptions.file)
                var parsed: [SecretAddress] = []
                for address in addresses.compactMap({ SecretAddress(validating: $0) }) where !parsed.contains(address) {
                    parsed.append(address)
                }
                let serial = try await location.using { backend in
                    try await backend.withLock(operation: "state rm", timeout: lockOptions.lockTimeout.seconds) {
                        locked in
                        try await locked.recoverJournal()
                        guard var state = try await locked.loadSaved() else {
                            throw Console.fail("\(backend.name) does not exist; nothing to forget")
                        }
                        for address in parsed where state.secrets[address] == nil {
                            let hint =
                                EditDistance.closest(
                                    to: address.description, among: state.secrets.keys.map(\.description)
                                ).map { " (did you mean \($0)?)" } ?? ""
                            throw Console.fail(
                                "\(address) is not in \(backend.name)\(hint); see stripe-secrets state list")
                        }
                        for address in parsed { state.forget(address) }
                        state.serial += 1
                        try await locked.save(state, replacing: state.serial - 1)
                        return state.serial
                    }
                }
                Console.printLine(
                    "Forgot \(parsed.count.counted("secret")) in \(location) (serial \(serial)); Stripe was not changed."
                )
            }
        }

        struct Pull: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "pull",
                abstract: "Print the state document (a valid state file) of any backend.",
                discussion: """
                    Prints the state as saved, with no value in it. Takes no lock and writes \
                    nothing, so it works for a read-only user and while an apply runs. A journal of \
                    a running or interrupted apply is not included (a note on stderr says so).

                    Examples:
                      stripe-secrets state pull > backup.state.json
                      stripe-secrets state pull --state postgres://ci@db.internal:5432/secrets \\
                        --workspace prod > prod.state.json
                    """
            )

            @OptionGroup var manifestOptions: ManifestOptions
            @OptionGroup var stateOptions: StateOptions

            func run() async throws {
                let location = try stateOptions.resolve(manifest: manifestOptions.file)
                let (state, journal) = try await location.using { backend in
                    (try await backend.loadSaved(), try await backend.hasJournal())
                }
                guard let state else { throw Console.fail("\(location) does not exist; there is nothing to pull") }
                if journal {
                    Console.printError(
                        "note: \(location) has the journal of a running or interrupted apply; its calls are not "
                            + "in this document")
                }
                Console.writeOut(String(decoding: StateDocument.encode(state), as: UTF8.self))
            }
        }

        struct Push: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "push",
                abstract: "Write a state document into the configured state, keeping its lineage and serial.",
                discussion: """
                    This is how a team moves a state between backends: pull from one, push to the \
                    other. Refused when the target holds another lineage or a serial that is not \
                    older than the document's, unless --force.

                    Examples:
                      stripe-secrets state push secrets.state.json \\
                        --state postgres://ci@db.internal:5432/secrets --workspace prod
                      stripe-secrets state pull --state old.state.json > moved.json
                    """
            )

            @Argument(help: ArgumentHelp("A state document (state pull, or a state file).", valueName: "path"))
            var document: String

            @Flag(help: "Replace a state of another lineage, or one that is not older.")
            var force = false

            @OptionGroup var manifestOptions: ManifestOptions
            @OptionGroup var stateOptions: StateOptions
            @OptionGroup var lockOptions: LockOptions

            func run() async throws {
                let location = try stateOptions.resolve(manifest: manifestOptions.file)
                let pushed = try Console.reportingErrors { () throws -> State in
                    let backend = FileStateBackend(path: document, keptApartKey: location.keptApartKey)
                    guard let state = try backend.loadSaved() else {
                        throw Console.fail("\(document) does not exist; give the path of a state document")
                    }
                    guard !backend.hasJournal() else {
                        throw Console.fail(
                            "\(document) has the journal of an interrupted apply (\(backend.journalPath)), whose calls "
                                + "are not in the document; finish that apply first (stripe-secrets apply --state \(document) "
                                + "folds them in and does the rest), then push again")
                    }
                    return state
                }
                if case .file(let path) = location.location, FileIdentity.same(path, document) {
                    throw Console.fail("\(document) is the configured state itself; push it to another --state")
                }
                try await location.using { backend in
                    try await backend.withLock(operation: "state push", timeout: lockOptions.lockTimeout.seconds) {
                        locked in
                        guard !(try await backend.hasJournal()) else {
                            throw Console.fail(
                                "\(backend.name) has the journal of a running or interrupted apply; let it finish, "
                                    + "or run stripe-secrets apply against it to fold it in, then push again")
                        }
                        let current = try await locked.loadSaved()
                        if let current, !force {
                            guard current.lineage == pushed.lineage else {
                                throw Console.fail(
                                    "\(backend.name) holds another state (lineage \(current.lineage), not \(pushed.lineage)); "
                                        + "nothing was written. Push with --force to replace it")
                            }
                            guard pushed.serial > current.serial else {
                                throw Console.fail(
                                    "\(backend.name) is at serial \(current.serial), and \(document) at \(pushed.serial) "
                                        + "is not newer; nothing was written. Push with --force to replace it")
                            }
                        }
                        try await locked.save(pushed, replacing: current?.serial)
                    }
                }
                Console.printLine(
                    "Pushed \(document) (lineage \(pushed.lineage), serial \(pushed.serial), "
                        + "\(pushed.secrets.count.counted("secret"))) to \(location).")
            }
        }
    }
}

extension StripeSecrets.StateCommand {
    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rekey",
            abstract: "Make every fingerprint again under another key, such as one kept apart from the state.",
            discussion: """
                Reads every value of the manifest, checks each against the fingerprint the state \
                records (refusing, and naming them, if any differs: that is drift to plan and apply \
                first), then rewrites every fingerprint under the new key in one write. Stripe is \
                not touched.

                The new key: --new-key-file PATH (kept apart: the state records only its \
                identifier), --embed-new-key (a new random key stored in the state), or, for a \
                state that stores its own key, the key that STRIPE_SECRETS_FINGERPRINT_KEY or \
                --fingerprint-key-file gives. A state whose key is kept apart is read with that key.

                Examples:
                  STRIPE_SECRETS_FINGERPRINT_KEY=$(cat key.b64) stripe-secrets state rekey
                  stripe-secrets state rekey --new-key-file new.key  # old key: the variable
                  stripe-secrets state rekey --embed-new-key
                """
        )

        @Option(help: ArgumentHelp("Move to the key in this file, kept apart from the state.", valueName: "path"))
        var newKeyFile: String?

        @Flag(help: "Move to a new random key stored in the state.")
        var embedNewKey = false

        @OptionGroup var manifestOptions: ManifestOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions

        func validate() throws {
            if newKeyFile != nil, embedNewKey {
                throw ValidationError("give --new-key-file or --embed-new-key, not both")
            }
        }

        func run() async throws {
            let checked = try Console.check(manifestOptions.file, values: .required)
            var values: [SecretAddress: SecretValue] = [:]
            for resolution in checked.values {
                if case .success(let value) = resolution.result { values[resolution.declaration.address] = value }
            }
            var location = try stateOptions.resolve(manifest: manifestOptions.file)
            // Only rekey reads a state that stores its own key while one is kept apart: to move it.
            location.keptApartKey?.readsStoredKeys = true
            let newKey = try newKeyFile.map { try StateOptions.key(fromFile: $0, flag: "--new-key-file") }
            let (moved, keyWasStored) = try await location.using { backend in
                try await backend.withLock(operation: "state rekey", timeout: lockOptions.lockTimeout.seconds) {
                    locked in
                    try await locked.recoverJournal()
                    guard let state = try await locked.loadSaved() else {
                        throw Console.fail("\(backend.name) does not exist; there is nothing to rekey")
                    }
                    let target: (key: FingerprintKey, keptApart: Bool)
                    if let newKey {
                        target = (newKey.key, true)
                    } else if embedNewKey {
                        target = (FingerprintKey(), false)
                    } else if !state.keyIsKeptApart, let configured = location.keptApartKey {
                        target = (configured.key, true)
                    } else {
                        throw Console.fail(
                            "say which key to move \(backend.name) to: --new-key-file PATH (kept apart) or "
                                + "--embed-new-key (stored in the state)")
                    }
                    guard target.key != state.fingerprintKey else {
                        throw Console.fail("\(backend.name) already uses that key; it was not rekeyed")
                    }
                    try Self.check(state, values: values, stateName: backend.name, manifestPath: manifestOptions.file)
                    var moved = state.rekeyed(to: target.key, keptApart: target.keptApart, values: values)
                    moved.serial += 1
                    try await locked.save(moved, replacing: state.serial)
                    return (moved, keyWasStored: !state.keyIsKeptApart)
                }
            }
            let keyText =
                moved.keyIsKeptApart
                ? "kept apart (identifier \(moved.fingerprintKey.identifier.prefix(12))…); every command on this state "
                    + "now needs it in STRIPE_SECRETS_FINGERPRINT_KEY or --fingerprint-key-file"
                : "a new key stored in the state"
            Console.printLine(
                "Rekeyed \(moved.secrets.count.counted("secret")) in \(location) (serial \(moved.serial)): the key is now "
                    + "\(keyText).")
            guard keyWasStored else { return }
            let previous =
                if case .file(let path) = location.location { "\(path).backup" } else { "the previous_document column" }
            Console.printLine(
                "The previous version (\(previous)) still holds the old key and fingerprints; remove it, and any "
                    + "older copy (such as git history), where those must not be seen.")
        }

        /// Refuses unless every state entry is in the manifest and every value still has the
        /// fingerprint the state records, naming the addresses that are not.
        static func check(
            _ state: State, values: [SecretAddress: SecretValue], stateName: String, manifestPath: String
        ) throws {
            let entries = state.secrets.sorted { $0.key < $1.key }
            let undeclared = entries.filter { values[$0.key] == nil }.map(\.key.description)
            guard undeclared.isEmpty else {
                throw Console.fail(
                    "\(stateName) records secrets that \(manifestPath) does not declare, so their values cannot be read: "
                        + "\(undeclared.joined(separator: ", ")). Plan and apply their removal, or forget them with "
                        + "stripe-secrets state rm, then rekey; it was not rekeyed")
            }
            let drifted = entries.filter { address, entry in
                guard let recorded = entry.fingerprint, let value = values[address] else { return false }
                return state.fingerprintKey.fingerprint(of: value, at: address) != recorded
            }.map(\.key.description)
            guard drifted.isEmpty else {
                throw Console.fail(
                    "the values of \(drifted.joined(separator: ", ")) differ from what \(stateName) records; plan and "
                        + "apply them first (stripe-secrets plan), then rekey; it was not rekeyed")
            }
        }
    }
}

/// Left-aligned columns separated by two spaces, for listings. Widths count characters, as
/// the padding does, so names outside ASCII line up too.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
