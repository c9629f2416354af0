import Foundation
import SecretsCore
import SecretsModel

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
        // Written by whoever holds the lock, which may be anyone with access to the state.
        let operation = TerminalText.safe(String(operation.prefix(100)))
        let host = TerminalText.safe(String(host.prefix(100)))
        return "\(operation) (pid \(pid) on \(host), since \(clock) UTC on \(time.prefix(10)))"
    }
}

/// Why the lock could not be taken.
public enum StateLockError: Error, Equatable, Sendable, CustomStringConvertible {
    case held(statePath: String, holder: LockHolder?, waited: Bool)
    /// Held in a PostgreSQL session: it ends with that session, so force-unlock is rarely needed.
    case heldInDatabase(stateName: String, holder: LockHolder?, sessionPID: Int, waited: Bool)
    case failed(path: String, reason: String)
    /// `force-unlock` on a lock whose holder has not written who it is.
    case unidentifiedHolder(statePath: String)
    /// `force-unlock` on a lock held by a process that is still running on this machine.
    case liveHolder(statePath: String, holder: LockHolder)
    /// `force-unlock` on a PostgreSQL lock, whose session is still connected.
    case liveSession(stateName: String, holder: LockHolder?, sessionPID: Int)

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
        case .heldInDatabase(let stateName, let holder, let sessionPID, let waited):
            let who = holder.map { "by \($0.description)" } ?? "by another run"
            let advice = waited ? "Wait longer with a larger --lock-timeout" : "Wait with --lock-timeout 2m"
            return """
                \(stateName) is locked \(who), in database session \(sessionPID).
                       \(advice); the lock ends by itself when that run or its connection ends
                """
        case .failed(let path, let reason):
            return "cannot lock \(path): \(reason)"
        case .unidentifiedHolder(let statePath):
            return "\(statePath) is locked by a process that has not written who it is (it may be starting or "
                + "finishing); try again in a moment"
        case .liveSession(let stateName, let holder, let sessionPID):
            let who = holder.map { " by \($0.description)" } ?? ""
            return "\(stateName) is locked\(who) in database session \(sessionPID), which is still connected. "
                + "A PostgreSQL lock ends by itself when its session ends (a runner that dies frees it within "
                + "about a minute), so there is nothing to remove. To end a hung session now, someone allowed to "
                + "signal it can run: SELECT pg_terminate_backend(\(sessionPID));"
        case .liveHolder(let statePath, let holder):
            return "\(statePath) is locked by \(holder.description), which is still running; "
                + "stop it (kill \(holder.pid)) and its lock ends with it"
        }
    }
}
