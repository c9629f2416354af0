import Foundation
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A state in one file, with its backup, lock and journal beside it.
///
/// The file is the state document itself (`StateDocument`); writes are atomic renames, the
/// previous version is kept as `STATE.backup`, and the lock is an `flock` on `STATE.lock`.
public struct FileStateBackend: StateBackend {
    public let path: String
    public let keptApartKey: StateDocument.KeptApartKey?

    public init(path: String, keptApartKey: StateDocument.KeptApartKey? = nil) {
        self.path = path
        self.keptApartKey = keptApartKey
    }

    public var name: String { path }

    /// The previous version, kept by every write.
    public var backupPath: String { path + ".backup" }
    /// The lock file (see `StateLock`).
    public var lockPath: String { path + ".lock" }
    /// Calls an `apply` completed but has not yet folded into the state.
    public var journalPath: String { path + ".journal" }

    /// The journal, for messages.
    var journalPlace: JournalPlace {
        JournalPlace(journal: journalPath, state: path, setAside: "move it to another name")
    }

    /// Every file of this state: `plan --out` never writes over one of them.
    public var companionPaths: [String] { [path, backupPath, lockPath, journalPath] }

    /// The state `validate`, `plan` and the rest default to: `NAME.state.json` beside
    /// `NAME.yaml` (or `.yml`).
    public static func defaultPath(forManifest manifest: String) -> String {
        for suffix in [".yaml", ".yml"] where manifest.hasSuffix(suffix) {
            return String(manifest.dropLast(suffix.count)) + ".state.json"
        }
        return manifest + ".state.json"
    }

    public func load() throws -> State? {
        try loadSaved()?.folding(try FileJournal.read(at: journalPath, place: journalPlace))
    }

    public func hasJournal() -> Bool {
        FileManager.default.fileExists(atPath: journalPath)
    }

    public func withLock<Result: Sendable>(
        operation: String, timeout: Double, _ body: (any LockedState) async throws -> Result
    ) async throws -> Result {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var waited = false
        let lock: StateLock
        while true {
            do {
                lock = try StateLock.acquire(lockPath, statePath: path, operation: operation)
                break
            } catch {
                guard case .held(let statePath, let holder, _) = error else { throw error }
                guard ContinuousClock.now < deadline else {
                    throw StateLockError.held(statePath: statePath, holder: holder, waited: waited)
                }
                waited = true
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { withExtendedLifetime(lock) {} }
        return try await body(Locked(backend: self))
    }

    public func lockStatus() -> LockStatus {
        StateLock.status(of: lockPath)
    }

    public func forceUnlock() throws -> String {
        let status = lockStatus()
        guard status.isHeld else {
            guard FileIdentity.exists(path) || FileIdentity.exists(lockPath) else {
                throw StateLocationError(
                    "\(path) does not exist, so there is no lock to remove; check --state (or -f, whose state it "
                        + "is by default)")
            }
            return "\(path) is not locked."
        }
        guard let holder = status.holder else {
            throw StateLockError.unidentifiedHolder(statePath: path)
        }
        if holder.host == LockHolder.hostName, kill(holder.pid, 0) == 0 || errno == EPERM {
            throw StateLockError.liveHolder(statePath: path, holder: holder)
        }
        guard unlink(lockPath) == 0 else {
            throw FileWriteError(path: lockPath, reason: FileReader.message(errno))
        }
        return "Removed the lock on \(path) held by \(holder). Make sure that process no longer writes the state."
    }

    public func close() {}

    /// The state file as saved, without its journal; nil when there is none.
    public func loadSaved() throws(DocumentError) -> State? {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            throw DocumentError(
                .state, path: path, .unreadable("it is a symbolic link; pass the file it points to with --state"))
        }
        return try StateDocument.read(path, keptApart: keptApartKey)
    }

    /// Writes `state` atomically (mode 0600), keeping the previous version as the backup.
    ///
    /// `beforeRename` is a test seam: see `AtomicFile.write`.
    func write(_ state: State, beforeRename: () throws -> Void = {}) throws {
        guard (0...State.maxSerial).contains(state.serial) else {
            throw FileWriteError(path: path, reason: "its serial has reached the maximum; start a new state")
        }
        try AtomicFile.write(
            StateDocument.encode(state), to: path, backupPath: backupPath, beforeRename: beforeRename)
    }

    /// Removes the journal once its calls are in the saved state.
    func removeJournal() throws {
        guard unlink(journalPath) == 0 || errno == ENOENT else {
            throw FileWriteError(path: journalPath, reason: FileReader.message(errno))
        }
        try AtomicFile.syncFolder(ManifestLoader.directory(of: path))
    }

    /// The state under its `flock`.
    struct Locked: LockedState {
        let backend: FileStateBackend

        func loadSaved() throws -> State? {
            try backend.loadSaved()
        }

        func recoverJournal() throws {
            guard backend.hasJournal() else { return }
            guard let journal = try FileJournal.read(at: backend.journalPath, place: backend.journalPlace) else {
                return try backend.removeJournal()  // a crash before the header: nothing was applied
            }
            let saved = try backend.loadSaved()
            switch journal.verdict(against: saved) {
            case .pending:
                guard var folded = saved else { return }
                folded.fold(journal)
                folded.serial += 1
                try backend.write(folded)
                CrashPoint.folded.reach()
            case .nothingToFold:
                break
            case .unauthenticated:
                throw JournalError(.unauthenticated, backend.journalPlace)
            case .foreign:
                throw JournalError(.foreign, backend.journalPlace)
            }
            try backend.removeJournal()
        }

        func save(_ state: State, replacing expectedSerial: Int?) throws {
            let saved = try backend.loadSaved()?.serial
            guard saved == expectedSerial else {
                throw StateConflictError(stateName: backend.path, expectedSerial: expectedSerial, foundSerial: saved)
            }
            try backend.write(state)
        }

        func startJournal(_ header: JournalHeader) throws -> any JournalWriter {
            try FileJournal.start(at: backend.journalPath, header: header, place: backend.journalPlace)
        }
    }
}
