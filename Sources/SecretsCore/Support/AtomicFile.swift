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
        let temporary = "\(folder)/.\(baseName(of: path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure(temporary) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            try writeAll(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw failure(temporary) }
        }
        if let backupPath { try keepBackup(of: path, at: backupPath, folder: folder) }
        try beforeRename()
        guard rename(temporary, path) == 0 else { throw failure(path) }
        renamed = true
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

    /// Links the current file at a temporary name, then renames that over the backup, so an
    /// existing backup is replaced atomically too.
    private static func keepBackup(of path: String, at backupPath: String, folder: String) throws {
        let temporary = "\(folder)/.\(baseName(of: backupPath)).tmp-\(getpid())"
        unlink(temporary)
        guard link(path, temporary) == 0 else {
            if errno == ENOENT { return }  // nothing to back up yet
            throw failure(path)
        }
        guard rename(temporary, backupPath) == 0 else {
            unlink(temporary)
            throw failure(backupPath)
        }
    }

    private static func syncFolder(_ folder: String) throws {
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
