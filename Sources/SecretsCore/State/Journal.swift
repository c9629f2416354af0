import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The record of calls `apply` completed, kept beside the state (`STATE.journal`) while it
/// runs: one JSON line per call, each made durable before `apply` goes on. At the end it is
/// folded into the state and removed; if a crash leaves it behind, the next reader folds it in,
/// so completed work is never lost.
public final class Journal: @unchecked Sendable {
    /// The first line: which state the calls were made against.
    public struct Header: Codable, Equatable, Sendable {
        public let lineage: String
        public let serial: Int
        public let mode: StripeMode?

        public init(lineage: String, serial: Int, mode: StripeMode?) {
            self.lineage = lineage
            self.serial = serial
            self.mode = mode
        }
    }

    /// One completed call.
    public struct Entry: Codable, Equatable, Sendable {
        public let action: Plan.Action
        public let address: String
        public let id: String?
        public let fingerprint: Fingerprint?
        public let expiresAt: Int64?
        public let appliedAt: Int64

        public init(
            action: Plan.Action, address: SecretAddress, id: String?, fingerprint: Fingerprint?, expiresAt: Int64?,
            appliedAt: Int64
        ) {
            self.action = action
            self.address = address.description
            self.id = id
            self.fingerprint = fingerprint
            self.expiresAt = expiresAt
            self.appliedAt = appliedAt
        }
    }

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

    /// Starts a new journal for `store`, replacing none: a journal left by a crash must have been
    /// folded in first (`StateStore.recoverJournal`).
    public static func start(for store: StateStore, header: Header) throws -> Journal {
        let path = store.journalPath
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileWriteError(path: path, reason: FileReader.message(errno)) }
        let journal = Journal(descriptor: descriptor, path: path)
        try journal.appendLine(header)
        try AtomicFile.syncFolder(ManifestLoader.directory(of: path))
        return journal
    }

    /// Appends one completed call and waits until it is on disk. Safe from many tasks at once.
    public func append(_ entry: Entry) throws {
        try appendLine(entry)
    }

    private func appendLine(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let line = Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
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

    /// The journal of `store`, if there is one. A last line cut short by a crash is ignored.
    static func read(for store: StateStore) throws(StateFileError) -> (header: Header, entries: [Entry])? {
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: store.journalPath, maxBytes: 256 << 20)
        } catch {
            if case .notFound = error { return nil }
            throw .unreadable(path: store.journalPath, reason: String(describing: error))
        }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        if bytes.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }
        let decoder = JSONCoding.decoder
        guard let first = lines.first, let header = try? decoder.decode(Header.self, from: Data(first)) else {
            return nil  // a crash before the header was written: nothing was applied
        }
        var entries: [Entry] = []
        for line in lines.dropFirst() {
            guard let entry = try? decoder.decode(Entry.self, from: Data(line)) else {
                throw .corruptJournal(path: store.journalPath)
            }
            entries.append(entry)
        }
        return (header, entries)
    }
}

extension State {
    /// Folds a journal's completed calls in (the serial is left to whoever saves the result).
    mutating func fold(_ entries: [Journal.Entry], mode journalMode: StripeMode?) {
        for entry in entries {
            guard let address = SecretAddress(entry.address) else { continue }
            switch entry.action {
            case .create, .replace:
                guard let id = entry.id, let fingerprint = entry.fingerprint else { continue }
                record(
                    Entry(id: id, fingerprint: fingerprint, expiresAt: entry.expiresAt, appliedAt: entry.appliedAt),
                    at: address)
            case .delete:
                forget(address)
            case .unknown:
                break
            }
        }
        if mode == nil { mode = journalMode }
    }
}
