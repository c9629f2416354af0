import Foundation
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

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

    /// Takes the lock at `path` (the lock file of `statePath`) if it is free; `.held` names the
    /// holder otherwise (`FileStateBackend.withLock` waits by trying again). A symbolic link, or
    /// anything but a regular file of its own, is refused untouched.
    static func acquire(
        _ path: String, statePath: String, operation: String, now: () -> Int64 = { Int64(time(nil)) }
    ) throws(StateLockError) -> StateLock {
        let descriptor = try openLockFile(path, creating: true)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EINTR else {
                let code = errno
                let holder = code == EWOULDBLOCK ? readHolder(descriptor) : nil
                close(descriptor)
                if code == EWOULDBLOCK { throw .held(statePath: statePath, holder: holder, waited: false) }
                throw .failed(path: path, reason: FileReader.message(code))
            }
        }
        // Only a lock file of ours is ever truncated: empty, or naming a holder.
        var existing = [UInt8](repeating: 0, count: 4096)
        let count = existing.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        if count > 0, (try? JSONCoding.decoder.decode(LockHolder.self, from: Data(existing.prefix(count)))) == nil {
            flock(descriptor, LOCK_UN)
            close(descriptor)
            throw .failed(path: path, reason: "it is not a stripe-secrets lock file; it was left untouched. Remove it")
        }
        let holder = LockHolder(operation: operation, since: now())
        let bytes = Array((try? JSONCoding.encoder.encode(holder)) ?? Data())
        ftruncate(descriptor, 0)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return StateLock(descriptor: descriptor)
    }

    /// Who holds the lock at `path` right now.
    static func status(of path: String) -> LockStatus {
        guard let descriptor = try? openLockFile(path, creating: false) else {
            return LockStatus(isHeld: false, holder: nil)
        }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return LockStatus(isHeld: false, holder: nil)
        }
        return LockStatus(isHeld: true, holder: readHolder(descriptor))
    }

    /// Opens the lock file without following a symbolic link, and only if it is a regular file:
    /// a planted link or device is refused and never truncated.
    private static func openLockFile(_ path: String, creating: Bool) throws(StateLockError) -> Int32 {
        let flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (creating ? O_CREAT : 0)
        let descriptor = open(path, flags, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link; remove it" : FileReader.message(errno)
            throw .failed(path: path, reason: reason)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 else {
            close(descriptor)
            throw .failed(
                path: path, reason: "it is not a regular file of its own (a device, folder or hard link); remove it")
        }
        return descriptor
    }

    private static func readHolder(_ descriptor: Int32) -> LockHolder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return try? JSONCoding.decoder.decode(LockHolder.self, from: Data(buffer.prefix(count)))
    }
}
