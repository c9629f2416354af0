#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file could not be read, in words fit for a diagnostic.
public enum FileReadError: Error, Equatable, Sendable {
    case notFound
    case isDirectory
    case notRegularFile
    case tooLarge(bytes: Int)
    case unreadable(reason: String)
}

/// Reads whole files with POSIX calls, refusing anything over a size bound before reading it.
public enum FileReader {
    public static func contents(of path: String, maxBytes: Int) throws(FileReadError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .notFound }
            throw .unreadable(reason: message(code))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .unreadable(reason: message(errno)) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw .isDirectory
        case S_IFREG: break
        default: throw .notRegularFile
        }
        let size = Int(info.st_size)
        guard size <= maxBytes else { throw .tooLarge(bytes: size) }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + filled }, size - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(reason: message(errno))
            }
            if count == 0 { break }
            filled += count
        }
        if filled < size { bytes.removeSubrange(filled...) }
        return bytes
    }

    /// The system's words for an `errno` value.
    public static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

extension FileReadError {
    /// The error in words, naming `path`; `notFoundHint` says where the path was looked for
    /// and `limit` what the size bound is.
    public func describe(_ path: String, notFoundHint: String?, limit: String) -> String {
        switch self {
        case .notFound: "\(path) does not exist" + (notFoundHint.map { " (\($0))" } ?? "")
        case .isDirectory: "\(path) is a directory, not a file"
        case .notRegularFile: "\(path) is not a regular file"
        case .tooLarge(let bytes): "\(path) is \(bytes.grouped) bytes; \(limit)"
        case .unreadable(let reason): "\(path) cannot be read: \(reason)"
        }
    }
}
