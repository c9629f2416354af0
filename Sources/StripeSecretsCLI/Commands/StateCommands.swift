import ArgumentParser
import SecretsCore

extension StripeSecrets {
    /// `state list` and `state rm`: read or edit the state without touching Stripe.
    struct StateCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "List or forget secrets in the state file (Stripe is not touched).",
            subcommands: [List.self, Remove.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the secrets the state records: address, id, expiry, when applied.",
                discussion: """
                    Examples:
                      stripe-secrets state list
                      stripe-secrets state list --state prod.state.json
                    """
            )

            @OptionGroup var manifestOptions: ManifestOptions
            @OptionGroup var stateOptions: StateOptions

            func run() throws {
                let store = stateOptions.store(manifest: manifestOptions.file)
                guard let state = try Console.reportingErrors({ try store.load() }) else {
                    throw Console.fail("\(store.path) does not exist; run stripe-secrets plan, or pass --state PATH")
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
                print("\(state.secrets.count.counted("secret")) in \(store.path) (serial \(state.serial), \(mode))")
            }
        }

        struct Remove: ParsableCommand {
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

            func run() throws {
                let store = stateOptions.store(manifest: manifestOptions.file)
                try Console.reportingErrors {
                    let lock = try StateLock.acquire(
                        store, operation: "state rm", timeout: lockOptions.lockTimeout.seconds)
                    defer { withExtendedLifetime(lock) {} }
                    guard var state = try store.load() else {
                        throw Console.fail("\(store.path) does not exist; nothing to forget")
                    }
                    var parsed: [SecretAddress] = []
                    for address in addresses.compactMap({ SecretAddress(validating: $0) })
                    where !parsed.contains(address) {
                        parsed.append(address)
                    }
                    for address in parsed where state.secrets[address] == nil {
                        let hint =
                            EditDistance.closest(to: address.description, among: state.secrets.keys.map(\.description))
                            .map { " (did you mean \($0)?)" } ?? ""
                        throw Console.fail("\(address) is not in \(store.path)\(hint); see stripe-secrets state list")
                    }
                    for address in parsed { state.forget(address) }
                    state.serial += 1
                    try store.save(state)
                    print(
                        "Forgot \(parsed.count.counted("secret")) in \(store.path) (serial \(state.serial)); "
                            + "Stripe was not changed.")
                }
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
