import ArgumentParser
import SecretsCore
import SecretsModel
import StateStorage

extension StripeSecrets {
    /// `state list` and `state rm`: read or edit the state without touching Stripe.
    struct StateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "List, forget, pull or push the state (Stripe is not touched).",
            subcommands: [List.self, Remove.self, Pull.self, Push.self]
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the secrets the state records: address, id, expiry, when applied.",
                discussion: """
                    Examples:
                      stripe-secrets state list
                      stripe-secrets state list --state prod.state.json
                      stripe-secrets state list --state postgres://ci@db.internal:5432/secrets --workspace prod
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
                if !rows.isEmpty { print(Table.render([header] + rows), terminator: "") }
                let mode = state.mode.map { "\($0.rawValue) mode" } ?? "no apply yet"
                print("\(state.secrets.count.counted("secret")) in \(location) (serial \(state.serial), \(mode))")
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
                      stripe-secrets state rm acct_1Nv0FGQ9RKHgCVdK/user:usr_OkDR2bKzwpXu3s/oauth_token
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
                print(
                    "Forgot \(parsed.count.counted("secret")) in \(location) (serial \(serial)); Stripe was not changed."
                )
            }
        }

        struct Pull: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
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
                let pushed = try Console.reportingErrors { () throws -> State in
                    let backend = FileStateBackend(path: document)
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
                let location = try stateOptions.resolve(manifest: manifestOptions.file)
                if case .file(let path) = location, FileIdentity.same(path, document) {
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
                print(
                    "Pushed \(document) (lineage \(pushed.lineage), serial \(pushed.serial), "
                        + "\(pushed.secrets.count.counted("secret"))) to \(location).")
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
