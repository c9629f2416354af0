import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who holds a state's lock, as written into the lock file by the holder.
public struct LockHolder: Codable, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let pid: Int32
    public let host: String
    /// Unix seconds.
    public let since: Int64

    public init(operation: String, pid: Int32 = getpid(), host: String = LockHolder.hostName, since: Int64) {
        self.operation = operation
        self.pid = pid
        self.host = host
        self.since = since
    }

    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown host" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `apply (pid 4121 on ci-runner-7, since 12:04:31 UTC on 2026-11-26)`
    public var description: String {
        let time = Timestamp.format(since)
        let clock = time.dropFirst(11).prefix(8)
        return "\(operation) (pid \(pid) on \(host), since \(clock) UTC on \(time.prefix(10)))"
    }
}

/// Why the lock could not be taken.
public enum StateLockError: Error, Equatable, Sendable, CustomStringConvertible {
    case held(statePath: String, holder: LockHolder?, waited: Bool)
    case failed(path: String, reason: String)

    public var description: String {
        switch self {
        case .held(let statePath, let holder, let waited):
            let who = holder.map { "by \($0.description)" } ?? "by another process"
            let advice =
                waited
                ? "Wait longer with a larger --lock-timeout, or"
                : "Wait with --lock-timeout 2m, or,"
            return """
                \(statePath) is locked \(who).
                       \(advice) if that process is gone, stripe-secrets force-unlock
                """
        case .failed(let path, let reason):
            return "cannot lock \(path): \(reason)"
        }
    }
}

/// One writer at a time: an exclusive `flock` on `STATE.lock`, held while the value lives.
///
/// The kernel drops the lock when its process dies, however it dies, so a crash never leaves
/// a stale lock. The holder writes who it is into the file for others to report.
public final class StateLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Takes the lock of `store`, waiting up to `timeout` seconds (0: fail at once).
    public static func acquire(
        _ store: StateStore, operation: String, timeout: Double, now: () -> Int64 = { Int64(time(nil)) }
    ) throws(StateLockError) -> StateLock {
        let path = store.lockPath
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .failed(path: path, reason: FileReader.message(errno)) }
        let deadline = Date().addingTimeInterval(timeout)
        var waited = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = FileReader.message(errno)
                close(descriptor)
                throw .failed(path: path, reason: reason)
            }
            guard Date() < deadline else {
                let holder = readHolder(descriptor)
                close(descriptor)
                throw .held(statePath: store.path, holder: holder, waited: waited)
            }
            waited = true
            usleep(50_000)
        }
        let holder = LockHolder(operation: operation, since: now())
        let bytes = Array((try? JSONCoding.encoder.encode(holder)) ?? Data())
        ftruncate(descriptor, 0)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return StateLock(descriptor: descriptor)
    }

    /// Who holds the lock of `store` right now; nil when nobody does.
    public static func holder(of store: StateStore) -> (held: Bool, holder: LockHolder?) {
        let descriptor = open(store.lockPath, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return (false, nil) }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return (false, nil)
        }
        return (true, readHolder(descriptor))
    }

    private static func readHolder(_ descriptor: Int32) -> LockHolder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return try? JSONCoding.decoder.decode(LockHolder.self, from: Data(buffer.prefix(count)))
    }
}
