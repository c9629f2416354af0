import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where one state lives on disk, with its backup, lock and journal beside it.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The previous version, kept by every write.
    public var backupPath: String { path + ".backup" }
    /// The lock file (see `StateLock`).
    public var lockPath: String { path + ".lock" }
    /// Calls an `apply` completed but has not yet folded into the state (see `Journal`).
    public var journalPath: String { path + ".journal" }

    /// The state `validate`, `plan` and the rest default to: `NAME.state.json` beside
    /// `NAME.yaml` (or `.yml`).
    public static func defaultPath(forManifest manifest: String) -> String {
        for suffix in [".yaml", ".yml"] where manifest.hasSuffix(suffix) {
            return String(manifest.dropLast(suffix.count)) + ".state.json"
        }
        return manifest + ".state.json"
    }

    /// The state, or nil when there is no file yet. The calls of a journal (an `apply` running,
    /// or one that was interrupted) are folded in, in memory, so a reader sees every call that
    /// completed; the serial stays the saved one, so that a plan made now is stale once that
    /// journal is written (see `recoverJournal`).
    public func load() throws(StateFileError) -> State? {
        guard var state = try loadFile() else { return nil }
        if let journal = try Journal.read(for: self), journal.header.lineage == state.lineage,
            journal.header.serial == state.serial
        {
            state.fold(journal.entries, mode: journal.header.mode)
        }
        return state
    }

    /// Whether an `apply` is running, or was interrupted, on this state.
    public var hasJournal: Bool {
        FileManager.default.fileExists(atPath: journalPath)
    }

    /// Writes a journal left by an interrupted `apply` into the state (serial + 1) and removes
    /// it. A journal already written (a crash after the save, before the removal: its serial is
    /// one behind) is just removed; any other journal is refused, never dropped. Call under the
    /// lock, before changing the state.
    public func recoverJournal() throws {
        guard hasJournal else { return }
        guard let journal = try Journal.read(for: self) else { return try removeJournal() }
        guard let onDisk = try loadFile(), journal.header.lineage == onDisk.lineage else {
            throw StateFileError.foreignJournal(path: journalPath, statePath: path)
        }
        switch journal.header.serial {
        case onDisk.serial:
            var folded = onDisk
            folded.fold(journal.entries, mode: journal.header.mode)
            folded.serial += 1
            try save(folded)
        case onDisk.serial - 1:
            break
        default:
            throw StateFileError.foreignJournal(path: journalPath, statePath: path)
        }
        try removeJournal()
    }

    /// Removes the journal once its calls are in the saved state.
    public func removeJournal() throws {
        guard unlink(journalPath) == 0 || errno == ENOENT else {
            throw FileWriteError(path: journalPath, reason: FileReader.message(errno))
        }
        try AtomicFile.syncFolder(ManifestLoader.directory(of: path))
    }

    private func loadFile() throws(StateFileError) -> State? {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            throw .unreadable(path: path, reason: "it is a symbolic link; pass the file it points to with --state")
        }
        let bytes: [UInt8]
        do {
            guard let read = try DocumentRead.bytes(path) else { return nil }
            bytes = read
        } catch {
            switch error {
            case .notAFile: throw .notAStateFile(path: path)
            case .unreadable(let reason): throw .unreadable(path: path, reason: reason)
            }
        }
        return try StateFile.decode(bytes, path: path)
    }

    /// Writes `state` atomically (mode 0600), keeping the previous version as the backup.
    ///
    /// `beforeRename` is a test seam: see `AtomicFile.write`.
    public func save(_ state: State, beforeRename: () throws -> Void = {}) throws {
        guard (0...State.maxSerial).contains(state.serial) else {
            throw FileWriteError(path: path, reason: "its serial has reached the maximum; start a new state")
        }
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
