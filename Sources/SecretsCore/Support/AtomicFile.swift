#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file-system call that failed, with the path and the system's reason.
public struct FileWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// Replaces files so that a reader (or a crash) sees either the old content or the new, never
/// a mix: write a temporary file in the same folder, fsync it, rename it over the target,
/// fsync the folder.
public enum AtomicFile {
    /// Writes `bytes` to `path` with permissions 0600.
    ///
    /// - Parameters:
    ///   - backupPath: when given and `path` exists, the old file is kept there (hard-linked,
    ///     so the backup is in place before the target changes).
    ///   - beforeRename: runs after the temporary file is durable and before the rename; tests
    ///     throw from it to show that a crash there leaves the old file intact.
    public static func write(
        _ bytes: [UInt8], to path: String, backupPath: String? = nil, beforeRename: () throws -> Void = {}
    ) throws {
        let folder = ManifestLoader.directory(of: path)
        removeAbandonedTemporaries(of: path, in: folder)
        let temporary = "\(folder)/.\(baseName(of: path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        // Named by the file asked for: the temporary file is ours, not the user's.
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "the folder \(folder) does not exist" : FileReader.message(errno)
            throw FileWriteError(path: path, reason: reason)
        }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            try writeAll(bytes, to: descriptor, path: path)
            guard fsync(descriptor) == 0 else { throw failure(path) }
        }
        if let backupPath { try keepBackup(of: path, at: backupPath, folder: folder) }
        try beforeRename()
        CrashPoint.beforeRename.reach()
        guard rename(temporary, path) == 0 else { throw failure(path) }
        renamed = true
        CrashPoint.afterRename.reach()
        try syncFolder(folder)
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                systemWrite(descriptor, buffer.baseAddress.map { $0 + written }, bytes.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path)
            }
            written += count
        }
    }

    /// Keeps the current file at `backupPath`: hard-linked at a temporary name (copied where the
    /// file system has no hard links), made private, then renamed over the old backup.
    private static func keepBackup(of path: String, at backupPath: String, folder: String) throws {
        let temporary = "\(folder)/.\(baseName(of: backupPath)).tmp-\(getpid())"
        unlink(temporary)
        if link(path, temporary) != 0 {
            if errno == ENOENT { return }  // nothing to back up yet
            guard let bytes = try? FileReader.contents(of: path, maxBytes: 256 << 20) else { throw failure(path) }
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw failure(temporary) }
            defer { close(descriptor) }
            try writeAll(bytes, to: descriptor, path: temporary)
        }
        chmod(temporary, 0o600)
        guard rename(temporary, backupPath) == 0 else {
            unlink(temporary)
            throw failure(backupPath)
        }
        // When the backup already was this very file (a write interrupted before its rename kept
        // it), rename(2) does nothing and leaves the temporary name: remove it.
        unlink(temporary)
    }

    /// Temporary files of `path` left by a process that died before its rename: they hold an
    /// old copy of the content, so they are removed rather than left lying around.
    private static func removeAbandonedTemporaries(of path: String, in folder: String) {
        let prefix = ".\(baseName(of: path)).tmp-"
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }),
                pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            unlink("\(folder)/\(name)")
        }
    }

    /// fsyncs a folder, so that a rename or a new file in it survives a crash.
    public static func syncFolder(_ folder: String) throws {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(folder) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure(folder) }
    }

    private static func baseName(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func failure(_ path: String) -> FileWriteError {
        FileWriteError(path: path, reason: FileReader.message(errno))
    }
}

/// `write(2)`, reachable from inside `AtomicFile`, whose own `write` hides it.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
