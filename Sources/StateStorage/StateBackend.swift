import SecretsCore

/// Where one state lives, and the only way the rest of the tool reads, locks and writes it.
///
/// Two implementations keep one contract (`Tests/StateStorageTests`): `FileStateBackend`, a file
/// beside the manifest, and `PostgresStateBackend`, a row in a PostgreSQL database shared by
/// many runners. Every write is compare-and-swap on the serial, made under the lock.
public protocol StateBackend: Sendable {
    /// How messages and plan files name this state: a path, or a PostgreSQL URL (never with a
    /// password) and workspace.
    var name: String { get }

    /// The state, or nil when there is none yet. The calls of a journal (an apply running, or
    /// one that was interrupted) are folded in, in memory, so a reader sees every call that
    /// completed; the serial stays the saved one, so a plan made now is stale once that journal
    /// is written.
    func load() async throws -> State?

    /// The state as saved, without any journal folded in; nil when there is none yet. Takes no
    /// lock and writes nothing, so a read-only user can run it while an apply runs.
    func loadSaved() async throws -> State?

    /// Whether an apply is running on this state, or was interrupted.
    func hasJournal() async throws -> Bool

    /// Runs `body` holding this state's lock, waiting up to `timeout` seconds for another
    /// holder (0: fail at once, naming the holder). The lock ends with the process, however it
    /// ends.
    func withLock<Result: Sendable>(
        operation: String, timeout: Double, _ body: (any LockedState) async throws -> Result
    ) async throws -> Result

    /// Who holds the lock now, and what `force-unlock` can do about it.
    func lockStatus() async throws -> LockStatus

    /// Clears a lock whose holder is gone, or explains why it cannot.
    func forceUnlock() async throws -> String

    /// The fingerprint key kept apart from the state, when one was given: a new state records
    /// only its identifier, and an existing state that keeps its key apart is read with it.
    var keptApartKey: StateDocument.KeptApartKey? { get }

    /// Closes connections; the value is not used afterwards.
    func close() async
}

/// The state under its lock: the only place it changes.
public protocol LockedState: Sendable {
    /// The state as saved, without any journal folded in; nil when there is none yet.
    func loadSaved() async throws -> State?

    /// Writes a journal left by an interrupted apply into the state (serial + 1) and removes
    /// it. Any journal that does not belong to this state is refused and left in place.
    func recoverJournal() async throws

    /// Writes `state`, refusing unless the saved serial is still `expectedSerial` (nil: no
    /// state saved yet), so a write based on an old state is refused, never lost.
    func save(_ state: State, replacing expectedSerial: Int?) async throws

    /// Starts the journal of an apply; refused while another journal exists.
    func startJournal(_ header: JournalHeader) async throws -> any JournalWriter
}

/// Where an apply records each completed call, durably, before it goes on.
public protocol JournalWriter: Sendable {
    /// Appends one completed call and returns once it is durable. Safe from many tasks at once.
    func append(_ entry: JournalEntry) async throws
}

/// Whether a state is locked, and by whom.
public struct LockStatus: Sendable, Equatable {
    public let isHeld: Bool
    /// Who wrote themselves down as the holder, when known.
    public let holder: LockHolder?

    public init(isHeld: Bool, holder: LockHolder?) {
        self.isHeld = isHeld
        self.holder = holder
    }
}

/// A write refused because the state moved on since it was read.
public struct StateConflictError: Error, Equatable, Sendable, CustomStringConvertible {
    public let stateName: String
    public let expectedSerial: Int?
    public let foundSerial: Int?

    public init(stateName: String, expectedSerial: Int?, foundSerial: Int?) {
        self.stateName = stateName
        self.expectedSerial = expectedSerial
        self.foundSerial = foundSerial
    }

    public var description: String {
        let expected = expectedSerial.map { "serial \($0)" } ?? "no state"
        let found = foundSerial.map { "serial \($0)" } ?? "no state"
        return "\(stateName) was written by someone else (expected \(expected), found \(found)); "
            + "nothing was overwritten. Run the command again"
    }
}

extension StateBackend {
    /// A new, empty state: with the kept-apart key when one was given.
    public func newState() -> State {
        State(keptApartKey: keptApartKey?.key)
    }

    /// The state, creating an empty one (serial 0, not yet bound to a mode) when there is none,
    /// so that fingerprints have their key. Creating takes the lock; an existing state is only
    /// read.
    public func loadOrCreate(lockTimeout: Double) async throws -> State {
        if let state = try await load() { return state }
        return try await withLock(operation: "plan (creating the state)", timeout: lockTimeout) { locked in
            if let state = try await load() { return state }
            let state = newState()
            try await locked.save(state, replacing: nil)
            return state
        }
    }
}
