import Foundation
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file backend's journal, `STATE.journal`: the header, then one JSON line per completed
/// call, each made durable (fsync) before `append` returns.
final class FileJournal: JournalWriter, @unchecked Sendable {
    private let descriptor: Int32
    private let path: String
    /// Guards appends and `length`, the size of the whole lines written so far.
    private let lock = NSLock()
    private var length: off_t = 0

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        close(descriptor)
    }

    /// Starts a new journal at `path`, replacing none (and following no symbolic link).
    static func start(at path: String, header: JournalHeader, place: JournalPlace) throws -> FileJournal {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            var info = stat()
            if code == EEXIST, lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                throw JournalError(.exists, place)
            }
            if code == EEXIST { throw JournalError(.notAFile, place) }
            throw FileWriteError(path: path, reason: FileReader.message(code))
        }
        let journal = FileJournal(descriptor: descriptor, path: path)
        try journal.appendLine(header)
        try AtomicFile.syncFolder(ManifestLoader.directory(of: path))
        return journal
    }

    func append(_ entry: JournalEntry) throws {
        try appendLine(entry)
    }

    private func appendLine(_ value: some Encodable) throws {
        let line = try JSONCoding.encodeLine(value)
        try lock.withLock {
            var written = 0
            while written < line.count {
                let count = line.withUnsafeBytes {
                    write(descriptor, $0.baseAddress.map { $0 + written }, line.count - written)
                }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    let reason = FileReader.message(errno)
                    // Cut a half-written line off, so that later lines stay readable.
                    ftruncate(descriptor, length)
                    throw FileWriteError(path: path, reason: reason)
                }
                written += count
            }
            guard fsync(descriptor) == 0 else { throw FileWriteError(path: path, reason: FileReader.message(errno)) }
            length += off_t(line.count)
        }
    }

    /// The journal at `path`, if there is one (see `JournalRecord.parse`).
    static func read(at path: String, place: JournalPlace) throws -> JournalRecord? {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG { throw JournalError(.notAFile, place) }
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: path, maxBytes: 256 << 20)
        } catch {
            if case .notFound = error { return nil }
            throw FileWriteError(path: path, reason: "cannot read it: \(error)")
        }
        return try JournalRecord.parse(lines: bytes, place: place)
    }
}

extension JournalRecord {
    /// A journal from its JSON lines, as the file backend writes them. A last line cut short by
    /// a crash (no newline after it) is ignored; a journal whose header line never completed
    /// recorded nothing, and reads as nil.
    static func parse(lines bytes: [UInt8], place: JournalPlace) throws(JournalError) -> JournalRecord? {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map(Array.init)
        if bytes.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }
        guard let header = lines.first else { return nil }
        return try decode(header: header, entries: Array(lines.dropFirst()), place: place)
    }
}
