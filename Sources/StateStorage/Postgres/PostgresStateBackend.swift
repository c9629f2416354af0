import Foundation
import Logging
import PostgresNIO
import SecretsCore
import SecretsModel

/// A state in a PostgreSQL database, one row per workspace, shared by every runner that reaches
/// the database.
///
/// The row holds the same document as a state file. The lock is a session-level advisory lock
/// on this command's own connection, so the server frees it when the process or its connection
/// dies. Each completed call of an apply is a committed row of `journal_entries` before the next
/// one starts, and folding a journal into the state is one transaction.
public final class PostgresStateBackend: StateBackend {
    public let location: PostgresLocation
    public let workspace: String
    public let keptApartKey: StateDocument.KeptApartKey?
    private let session: PostgresSession
    private let lockKey: Int64

    /// A state at `location`; nothing is opened until it is first used.
    ///
    /// - Parameters:
    ///   - password: from the URL, `PGPASSWORD` or a passfile; never printed.
    ///   - passwordOrigin: where it came from, as login errors say (`a password from PGPASSWORD`).
    ///   - queryTimeout: seconds any one call may take, reading included.
    public init(
        location: PostgresLocation, workspace: String, password: String?, passwordOrigin: String = "a password",
        queryTimeout: Int = 30, keptApartKey: StateDocument.KeptApartKey? = nil
    ) throws(PostgresStateError) {
        self.location = location
        self.workspace = workspace
        self.keptApartKey = keptApartKey
        session = try PostgresSession(
            location: location, password: password, passwordOrigin: passwordOrigin, queryTimeout: queryTimeout)
        lockKey = PostgresLockKey.workspace(workspace)
    }

    public var name: String { "\(location) (workspace \(workspace))" }

    /// A workspace name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter
    /// or digit.
    public static func isValidWorkspace(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func allowed(_ byte: UInt8) -> Bool {
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
        }
        guard let first = bytes.first, bytes.count <= 64, allowed(first) else { return false }
        return bytes.allSatisfy {
            allowed($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    public func load() async throws -> State? {
        let rows = try await readRows()
        return try decode(rows)?.folding(try journal(rows))
    }

    public func loadSaved() async throws -> State? {
        try decode(try await readRows())
    }

    public func hasJournal() async throws -> Bool {
        let workspace = workspace
        return try await session.run("reading the journal") { connection, logger in
            let rows = try await connection.query(
                "SELECT count(*) FROM stripe_secrets.journals WHERE workspace = \(workspace)", logger: logger)
            for try await count in rows.decode(Int.self) { return count > 0 }
            return false
        }
    }

    public func withLock<Result: Sendable>(
        operation: String, timeout: Double, _ body: (any LockedState) async throws -> Result
    ) async throws -> Result {
        try await acquire(operation: operation, timeout: timeout)
        do {
            let result = try await body(Locked(backend: self))
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    public func lockStatus() async throws -> LockStatus {
        let holder = try await currentHolder()
        return LockStatus(isHeld: holder != nil, holder: holder?.holder)
    }

    public func forceUnlock() async throws -> String {
        if let held = try await currentHolder() {
            throw StateLockError.liveSession(stateName: name, holder: held.holder, sessionPID: held.sessionPID)
        }
        let workspace = workspace
        try await session.run("clearing the lock record") { connection, logger in
            try await connection.query(
                "DELETE FROM stripe_secrets.lock_holders WHERE workspace = \(workspace)", logger: logger)
        }
        return "\(name) is not locked: a PostgreSQL lock ends with its session, so none is ever left behind."
    }

    public func close() async {
        await session.close()
    }

    // MARK: Reading

    /// The saved document and journal of this workspace, read in one statement (one snapshot).
    private struct Rows: Sendable {
        /// The row's own serial and lineage, which every write compares: they must agree with
        /// the document's.
        var serial: Int?
        var lineage: String?
        var document: String?
        var header: String?
        var entries: [String]?
    }

    private func readRows() async throws -> Rows {
        let workspace = workspace
        return try await session.run("reading the state") { connection, logger in
            let rows = try await connection.query(
                """
                SELECT (SELECT serial FROM stripe_secrets.states WHERE workspace = \(workspace)),
                       (SELECT lineage FROM stripe_secrets.states WHERE workspace = \(workspace)),
                       (SELECT document::text FROM stripe_secrets.states WHERE workspace = \(workspace)),
                       (SELECT header::text FROM stripe_secrets.journals WHERE workspace = \(workspace)),
                       (SELECT array_agg(entry::text ORDER BY seq) FROM stripe_secrets.journal_entries
                        WHERE workspace = \(workspace))
                """, logger: logger)
            for try await (serial, lineage, document, header, entries) in rows.decode(
                (Int?, String?, String?, String?, [String]?).self)
            {
                return Rows(serial: serial, lineage: lineage, document: document, header: header, entries: entries)
            }
            return Rows()
        }
    }

    private func decode(_ rows: Rows) throws -> State? {
        guard let document = rows.document else { return nil }
        let state: State
        do {
            state = try StateDocument.decode(Array(document.utf8), path: name, keptApart: keptApartKey)
        } catch {
            var inDatabase = error
            inDatabase.place = .database
            throw inDatabase
        }
        guard rows.serial == state.serial, rows.lineage == state.lineage else {
            var mismatch = DocumentError(
                .state, path: name,
                .corrupt(
                    "the row's serial and lineage (\(rows.serial.map(String.init) ?? "none"), "
                        + "\(TerminalText.safe(rows.lineage ?? "none"))) disagree with its document's (\(state.serial), "
                        + "\(state.lineage)); restore the serial, lineage and document columns together"))
            mismatch.place = .database
            throw mismatch
        }
        return state
    }

    private func journal(_ rows: Rows) throws -> JournalRecord? {
        guard let header = rows.header else { return nil }
        return try JournalRecord.decode(
            header: Array(header.utf8), entries: (rows.entries ?? []).map { Array($0.utf8) },
            place: journalPlace)
    }

    /// The journal, for messages; setting it aside deletes its rows (entries go with the header).
    private var journalPlace: JournalPlace {
        JournalPlace(
            journal: "the journal of \(name)", state: name,
            setAside: "DELETE FROM stripe_secrets.journals WHERE workspace = '\(workspace)'")
    }

    // MARK: Locking

    private func acquire(operation: String, timeout: Double) async throws {
        let key = lockKey
        let deadline = Date().addingTimeInterval(timeout)
        var waited = false
        while true {
            let taken = try await session.run("taking the lock") { connection, logger in
                let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                for try await taken in rows.decode(Bool.self) { return taken }
                return false
            }
            if taken { break }
            guard Date() < deadline else {
                let held = try await currentHolder()
                throw StateLockError.heldInDatabase(
                    stateName: name, holder: held?.holder, sessionPID: held?.sessionPID ?? 0, waited: waited)
            }
            waited = true
            try await Task.sleep(for: .milliseconds(200))
        }
        let holder = String(
            decoding: try JSONCoding.encoder.encode(LockHolder(operation: operation, since: Int64(time(nil)))),
            as: UTF8.self)
        let workspace = workspace
        try await session.run("recording the lock holder") { connection, logger in
            try await connection.query(
                """
                INSERT INTO stripe_secrets.lock_holders (workspace, holder, backend_pid)
                VALUES (\(workspace), \(holder)::json, pg_backend_pid())
                ON CONFLICT (workspace) DO UPDATE SET holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid
                """, logger: logger)
        }
    }

    /// Lets the lock go; if the connection is gone, the server has already let it go.
    private func release() async {
        let key = lockKey
        let workspace = workspace
        _ = try? await session.run("releasing the lock") { connection, logger in
            try await connection.query(
                "DELETE FROM stripe_secrets.lock_holders WHERE workspace = \(workspace) AND backend_pid = pg_backend_pid()",
                logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
        }
    }

    /// The session holding this workspace's lock, and who it said it is; nil when not held.
    private func currentHolder() async throws -> (holder: LockHolder?, sessionPID: Int)? {
        let high = Int64(UInt64(bitPattern: lockKey) >> 32)
        let low = Int64(UInt64(bitPattern: lockKey) & 0xFFFF_FFFF)
        let workspace = workspace
        let found = try await session.run("reading the lock") { connection, logger -> (String?, Int)? in
            let rows = try await connection.query(
                """
                SELECT h.holder::text, l.pid FROM pg_locks l
                LEFT JOIN stripe_secrets.lock_holders h ON h.workspace = \(workspace) AND h.backend_pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = \(high)::bigint::oid AND l.objid = \(low)::bigint::oid
                """, logger: logger)
            for try await (holder, pid) in rows.decode((String?, Int32).self) { return (holder, Int(pid)) }
            return nil
        }
        guard let found else { return nil }
        let holder = found.0.flatMap { try? JSONCoding.decoder.decode(LockHolder.self, from: Data($0.utf8)) }
        return (holder, found.1)
    }

    // MARK: Writing, under the lock

    /// The state under its advisory lock.
    struct Locked: LockedState {
        let backend: PostgresStateBackend

        func loadSaved() async throws -> State? {
            try await backend.loadSaved()
        }

        func recoverJournal() async throws {
            let rows = try await backend.readRows()
            guard let journal = try backend.journal(rows) else { return }
            let saved = try backend.decode(rows)
            let workspace = backend.workspace
            switch journal.verdict(against: saved) {
            case .pending:
                guard var folded = saved else { return }
                let expected = folded.serial
                folded.fold(journal)
                folded.serial += 1
                try await backend.write(folded, replacing: expected, removingJournal: true)
            case .nothingToFold:
                try await backend.session.run("removing the journal") { connection, logger in
                    try await connection.query(
                        "DELETE FROM stripe_secrets.journals WHERE workspace = \(workspace)", logger: logger)
                }
            case .unauthenticated:
                throw JournalError(.unauthenticated, backend.journalPlace)
            case .foreign:
                throw JournalError(.foreign, backend.journalPlace)
            }
        }

        func save(_ state: State, replacing expectedSerial: Int?) async throws {
            try await backend.write(state, replacing: expectedSerial, removingJournal: false)
        }

        func startJournal(_ header: JournalHeader) async throws -> any JournalWriter {
            let text = String(decoding: try JSONCoding.encodeLine(header).dropLast(), as: UTF8.self)
            let workspace = backend.workspace
            let started = try await backend.session.run("starting the journal") { connection, logger in
                let rows = try await connection.query(
                    """
                    INSERT INTO stripe_secrets.journals (workspace, header) VALUES (\(workspace), \(text)::json)
                    ON CONFLICT (workspace) DO NOTHING RETURNING workspace
                    """, logger: logger)
                for try await _ in rows.decode(String.self) { return true }
                return false
            }
            guard started else { throw JournalError(.exists, backend.journalPlace) }
            return Journal(backend: backend)
        }
    }

    /// Compare-and-swap on the serial, in one transaction with the journal's removal when asked.
    private func write(_ state: State, replacing expectedSerial: Int?, removingJournal: Bool) async throws {
        guard (0...State.maxSerial).contains(state.serial) else {
            throw PostgresStateError.server(
                database: location.description, doing: "saving the state",
                message: "its serial has reached the maximum; start a new state")
        }
        let document = String(decoding: StateDocument.encode(state), as: UTF8.self)
        let workspace = workspace
        let (lineage, serial) = (state.lineage, state.serial)
        let written = try await session.run("saving the state") { connection, logger in
            try await connection.withTransaction(logger: logger) { connection -> Bool in
                let rows: PostgresRowSequence
                if let expectedSerial {
                    rows = try await connection.query(
                        """
                        UPDATE stripe_secrets.states SET lineage = \(lineage), serial = \(serial),
                            previous_document = document, document = \(document)::json, updated_at = now()
                        WHERE workspace = \(workspace) AND serial = \(expectedSerial) RETURNING serial
                        """, logger: logger)
                } else {
                    rows = try await connection.query(
                        """
                        INSERT INTO stripe_secrets.states (workspace, lineage, serial, document)
                        VALUES (\(workspace), \(lineage), \(serial), \(document)::json)
                        ON CONFLICT (workspace) DO NOTHING RETURNING serial
                        """, logger: logger)
                }
                var matched = false
                for try await _ in rows.decode(Int.self) { matched = true }
                if matched, removingJournal {
                    try await connection.query(
                        "DELETE FROM stripe_secrets.journals WHERE workspace = \(workspace)", logger: logger)
                    CrashPoint.foldUncommitted.reach()
                }
                return matched
            }
        }
        guard written else {
            let found = try await readRows().serial
            throw StateConflictError(stateName: name, expectedSerial: expectedSerial, foundSerial: found)
        }
    }

    /// Journal entries as committed rows, each durable before `append` returns.
    struct Journal: JournalWriter {
        let backend: PostgresStateBackend

        func append(_ entry: JournalEntry) async throws {
            let text = String(decoding: try JSONCoding.encodeLine(entry).dropLast(), as: UTF8.self)
            let workspace = backend.workspace
            try await backend.session.run("recording a completed call") { connection, logger in
                try await connection.query(
                    "INSERT INTO stripe_secrets.journal_entries (workspace, entry) VALUES (\(workspace), \(text)::json)",
                    logger: logger)
            }
        }
    }
}
