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

    /// The state, or nil when there is no file yet. A journal left by an interrupted `apply` is
    /// folded in (in memory: `recoverJournal` writes it), so a reader always sees every call
    /// that completed.
    public func load() throws(StateFileError) -> State? {
        guard var state = try loadFile() else { return nil }
        if let (header, entries) = try Journal.read(for: self), header.lineage == state.lineage,
            header.serial == state.serial
        {
            state.fold(entries, mode: header.mode)
        }
        return state
    }

    /// Writes a journal left by an interrupted `apply` into the state and removes it. A journal
    /// already folded in (a crash after the save, before the removal) is just removed. Call
    /// under the lock, before changing the state.
    public func recoverJournal() throws {
        guard FileManager.default.fileExists(atPath: journalPath) else { return }
        if let (header, _) = try Journal.read(for: self), let onDisk = try loadFile(), header.lineage == onDisk.lineage,
            header.serial == onDisk.serial, let folded = try load()
        {
            try save(folded)
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
