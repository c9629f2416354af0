import Foundation
import SecretsCore
import SecretsModel
import StateStorage
import Testing
import TestSupport

/// The kinds of backend the contract runs against.
enum BackendKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case file, postgres

    var testDescription: String { rawValue }
}

/// A fresh, empty state of one kind, with a second handle on it (another "process") and a way
/// to plant a raw document the way a hostile or newer writer would.
struct BackendFixture: Sendable {
    let backend: any StateBackend
    /// Another handle on the same state: a second open file, or a second connection.
    let other: any StateBackend
    let plant: @Sendable (String) throws -> Void
    /// Keeps a temporary folder alive for file states.
    let folder: TemporaryFolder?

    static func make(_ kind: BackendKind) async throws -> BackendFixture {
        switch kind {
        case .file:
            let folder = try TemporaryFolder()
            let path = folder.path + "/s.state.json"
            return BackendFixture(
                backend: FileStateBackend(path: path), other: FileStateBackend(path: path),
                plant: { text in try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }, folder: folder)
        case .postgres:
            let cluster = try PostgresCluster.shared.get()
            let database = try ContractDatabase.name.get()
            let workspace = "contract-" + UUID().uuidString.prefix(8).lowercased()
            let backend = try postgresBackend(cluster, database: database, workspace: workspace)
            _ = try await backend.hasJournal()  // creates the tables
            return BackendFixture(
                backend: backend, other: try postgresBackend(cluster, database: database, workspace: workspace),
                plant: { text in
                    _ = try cluster.psql(
                        """
                        INSERT INTO stripe_secrets.states (workspace, lineage, serial, document)
                        VALUES ('\(workspace)', 'planted', 0, $doc$\(text)$doc$)
                        ON CONFLICT (workspace) DO UPDATE SET document = EXCLUDED.document
                        """, database: database)
                }, folder: nil)
        }
    }

    static func postgresBackend(
        _ cluster: PostgresCluster, database: String, workspace: String, user: String? = nil, password: String? = nil
    ) throws -> PostgresStateBackend {
        let location = try PostgresLocation(
            parsing: cluster.url(user: user, database: database), source: "--state", environment: [:])
        return try PostgresStateBackend(
            location: location, workspace: workspace, password: password ?? cluster.password, queryTimeout: 10)
    }

    func close() async {
        await backend.close()
        await other.close()
    }
}

/// The database every contract test shares, each in its own workspace.
enum ContractDatabase {
    static let name = Result<String, any Error> {
        let cluster = try PostgresCluster.shared.get()
        try cluster.createDatabase("contract")
        return "contract"
    }
}

/// Skips PostgreSQL cases, with one line saying how to enable them, when the server binaries
/// are missing outside CI (under CI=true they always run).
func backendKinds() -> [BackendKind] {
    if let reason = PostgresCluster.skipReason {
        print("note: \(reason)")
        return [.file]
    }
    return BackendKind.allCases
}

/// A state with three secrets, none of whose values appear anywhere.
func sampleState(serial: Int = 7, lineage: String = "lineage-1") -> State {
    let key = FingerprintKey()
    var state = State(lineage: lineage, serial: serial, mode: .test, fingerprintKey: key, secrets: [:])
    for (index, name) in ["b", "a", "c/d"].enumerated() {
        let address = SecretAddress(account: index == 0 ? "acct_A1" : nil, scope: .account, name: name)
        state.record(
            State.Entry(
                id: "appsecret_\(index)", fingerprint: key.fingerprint(of: SecretValue(canaryValue), at: address),
                expiresAt: index == 1 ? 4_102_444_800 : nil, appliedAt: 1_800_000_000 + Int64(index)),
            at: address)
    }
    return state
}

/// A planned change of `action` at `address`, its value the canary.
func plannedChange(_ action: Plan.Action, at address: SecretAddress, key: FingerprintKey) -> Plan.Change {
    let writes = action != .delete
    return Plan.Change(
        action: action, address: address, reason: writes ? .new : .removedFromManifest,
        source: writes ? .environment("CANARY") : nil, fingerprintBefore: nil,
        fingerprintAfter: writes ? key.fingerprint(of: SecretValue(canaryValue), at: address) : nil,
        expiresBefore: nil, expiresAfter: nil, remoteID: nil)
}

/// A journal of a run making `changes` against `state`, and the entry recording each one.
func journalRun(_ changes: [Plan.Change], on state: State, lineage: String? = nil) -> (
    header: JournalHeader, entries: [JournalEntry]
) {
    let header = JournalHeader(
        lineage: lineage ?? state.lineage, serial: state.serial, mode: .test, changes: changes,
        key: state.fingerprintKey)
    let entries = changes.map { change in
        header.entry(
            for: change, id: change.action == .delete ? nil : "appsecret_new", at: 1_800_000_100,
            key: state.fingerprintKey)
    }
    return (header, entries)
}
