/// Where one state lives on disk, with its backup and lock beside it.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The previous version, kept by every write.
    public var backupPath: String { path + ".backup" }
    /// The lock file (see `StateLock`).
    public var lockPath: String { path + ".lock" }

    /// The state `validate`, `plan` and the rest default to: `NAME.state.json` beside
    /// `NAME.yaml` (or `.yml`).
    public static func defaultPath(forManifest manifest: String) -> String {
        for suffix in [".yaml", ".yml"] where manifest.hasSuffix(suffix) {
            return String(manifest.dropLast(suffix.count)) + ".state.json"
        }
        return manifest + ".state.json"
    }

    /// The state, or nil when there is no file yet.
    public func load() throws(StateFileError) -> State? {
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: path, maxBytes: 256 << 20)
        } catch {
            switch error {
            case .notFound: return nil
            case .isDirectory, .notRegularFile: throw .notAStateFile(path: path)
            case .tooLarge(let size): throw .unreadable(path: path, reason: "\(size.grouped) bytes is too large")
            case .unreadable(let reason): throw .unreadable(path: path, reason: reason)
            }
        }
        return try StateFile.decode(bytes, path: path)
    }

    /// Writes `state` atomically (mode 0600), keeping the previous version as the backup.
    ///
    /// `beforeRename` is a test seam: see `AtomicFile.write`.
    public func save(_ state: State, beforeRename: () throws -> Void = {}) throws {
        try AtomicFile.write(StateFile.encode(state), to: path, backupPath: backupPath, beforeRename: beforeRename)
    }
}

extension StateStore {
    /// The state, creating an empty one (serial 0, not yet bound to a mode) when there is
    /// none, so that fingerprints have their key. Creating takes the lock; an existing state
    /// is only read.
    public func loadOrCreate(lockTimeout: Double, now: Int64) throws -> State {
        if let state = try load() { return state }
        let lock = try StateLock.acquire(
            self, operation: "plan (creating the state)", timeout: lockTimeout, now: { now })
        defer { withExtendedLifetime(lock) {} }
        if let state = try load() { return state }
        let state = State()
        try save(state)
        return state
    }
}
