import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A state in PostgreSQL, from `--state` or `STRIPE_SECRETS_STATE`:
/// `postgres://USER@HOST:PORT/DATABASE[?sslmode=…&sslrootcert=…&connect_timeout=…]`.
///
/// One TCP host only (no Unix sockets, no host lists). A password in the URL is accepted but
/// discouraged; it is never printed (not in `description`, `debugDescription`, a mirror or an
/// error) and is reached only through `password(environment:homeDirectory:)`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// How the connection is encrypted. libpq's `prefer` and `allow` are refused because they
    /// fall back to plain text silently, and `verify-ca` because it skips the host name check.
    public enum SSLMode: String, Sendable {
        case disable
        case require
        case verifyFull = "verify-full"
    }

    /// A DNS name or IP address as written in the URL; an IPv6 address without its brackets.
    public let host: String
    /// 5432 unless the URL gives one.
    public let port: Int
    /// From the URL, else `PGUSER`, else `USER` (percent-decoded).
    public let user: String
    /// From the URL, else the user name, as libpq does (percent-decoded).
    public let database: String
    /// From `sslmode=`; when absent, `disable` on loopback and `verify-full` anywhere else, so
    /// plain text never leaves the machine unless asked for.
    public let sslMode: SSLMode
    /// From `sslrootcert=`: a PEM file of the CA certificates to verify the server with. Only
    /// allowed with `verify-full`; nil means the system's trust roots.
    public let sslRootCertificate: String?
    /// From `connect_timeout=`, in seconds (1...3600); nil leaves the caller's default.
    public let connectTimeout: Int?
    private let passwordInURL: String?

    /// The parameters a URL may carry after `?`.
    static let supportedParameters = ["sslmode", "sslrootcert", "connect_timeout"]

    /// Whether `text` is meant as a PostgreSQL URL: it starts with `postgres://` or
    /// `postgresql://` (the scheme in any case), so the caller can tell it from a file path.
    public static func isPostgresURL(_ text: String) -> Bool {
        ["postgres://", "postgresql://"].contains {
            text.range(of: $0, options: [.caseInsensitive, .anchored]) != nil
        }
    }

    /// Parses a PostgreSQL URL as libpq does, with user, password, database and parameters
    /// percent-decoded.
    ///
    /// `source` (`--state` or `STRIPE_SECRETS_STATE`) starts every error message; messages show
    /// the URL without its password, parameters or fragment. `environment` supplies `PGUSER` and
    /// `USER` when the URL has no user name. As in RFC 3986, the host part ends at the first `/`,
    /// `?` or `#`, and the user info at its last `@`: a password may hold `@` unescaped, but `/`,
    /// `?` and `#` must be percent-encoded (%2F, %3F, %23), as libpq requires too.
    public init(parsing text: String, source: String, environment: [String: String]) throws(PostgresLocationError) {
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw PostgresLocationError(
                description:
                    "\(source): the PostgreSQL URL has a control character (a stray newline or tab?); remove it")
        }
        guard let written = WrittenURL(text) else {
            throw PostgresLocationError(
                description: "\(source): expected a PostgreSQL URL like postgres://USER@HOST:PORT/DATABASE")
        }
        let problem = { (upToHost: Bool, text: String) in
            PostgresLocationError(
                description: "\(source): the PostgreSQL URL \(written.redacted(upToHost: upToHost)) \(text)")
        }
        let (host, port) = try Self.hostAndPort(written.hostAndPort) { problem(true, $0) }

        let user: String
        if let writtenUser = written.user, !writtenUser.isEmpty {
            guard let decoded = Self.percentDecoded(writtenUser) else {
                throw problem(false, Self.badEscape(in: "its user name"))
            }
            user = decoded
        } else if let fromEnvironment = [environment["PGUSER"], environment["USER"]].compactMap({ $0 })
            .first(where: { !$0.isEmpty })
        {
            user = fromEnvironment
        } else {
            throw problem(
                false,
                "has no user name, and neither PGUSER nor USER is set; write one as in postgres://USER@HOST/DATABASE")
        }

        if let writtenPassword = written.password, !writtenPassword.isEmpty {
            guard let decoded = Self.percentDecoded(writtenPassword) else {
                throw problem(false, Self.badEscape(in: "its password"))
            }
            passwordInURL = decoded
        } else {
            passwordInURL = nil
        }

        if let path = written.path, !path.isEmpty {
            guard let decoded = Self.percentDecoded(path) else {
                throw problem(false, Self.badEscape(in: "its database name"))
            }
            database = decoded
        } else {
            database = user
        }

        guard !written.hasFragment else {
            throw problem(false, "has a '#' fragment; remove it (write a '#' in the database name as %23)")
        }
        let parameters = try Self.parameters(written.query) { problem(false, $0) }
        if let text = parameters["sslmode"] {
            guard let mode = SSLMode(rawValue: text) else {
                throw problem(false, "has sslmode '\(text)'; supported: disable, require, verify-full")
            }
            sslMode = mode
        } else {
            sslMode = Self.isLoopback(host) ? .disable : .verifyFull
        }
        if let path = parameters["sslrootcert"] {
            guard !path.isEmpty else {
                throw problem(false, "has an empty sslrootcert; give the path of a PEM file of CA certificates")
            }
            guard sslMode == .verifyFull else {
                throw problem(
                    false,
                    "has sslrootcert, which is used only with sslmode=verify-full; "
                        + "add sslmode=verify-full or remove sslrootcert")
            }
        }
        sslRootCertificate = parameters["sslrootcert"]
        if let text = parameters["connect_timeout"] {
            guard text.utf8.allSatisfy({ (48...57).contains($0) }), let seconds = Int(text),
                (1...3600).contains(seconds)
            else {
                throw problem(false, "has connect_timeout '\(text)'; give a whole number of seconds from 1 to 3600")
            }
            connectTimeout = seconds
        } else {
            connectTimeout = nil
        }
        self.host = String(host)
        self.port = port
        self.user = user
    }

    /// `postgres://USER@HOST:PORT/DATABASE`, always in this form whatever was written: what names
    /// the database, never the password and never the parameters (they say how to connect, not
    /// where), with user and database percent-encoded where needed and an IPv6 host in brackets.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(Self.percentEncoded(user))@\(shownHost):\(port)/\(Self.percentEncoded(database))"
    }

    public var debugDescription: String { description }

    /// The fields without the password, so `dump` cannot print it.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "user": user, "database": database, "sslMode": sslMode,
                "sslRootCertificate": sslRootCertificate as Any, "connectTimeout": connectTimeout as Any,
            ])
    }
}

// MARK: - Parsing

extension PostgresLocation {
    /// The host (IPv6 without brackets) and port of `text`, the part between the user info and
    /// the path. `problem` turns a complaint into the error to throw.
    private static func hostAndPort(
        _ text: Substring, problem: (String) -> PostgresLocationError
    ) throws(PostgresLocationError) -> (Substring, Int) {
        let noHost = problem(
            "has no host; give a TCP host name or address, as in postgres://app@localhost:5432/secrets "
                + "(Unix sockets are not supported)")
        guard !text.isEmpty else { throw noHost }
        let host: Substring
        let portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw problem("has an unclosed '[' in its host; write an IPv6 address as [::1]")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else {
                throw problem("has text after ']' that is not :PORT; write an IPv6 host as [::1]:5432")
            }
            guard ipv6Address(host) != nil else {
                throw problem(
                    "has '[\(host)]' as its host, which is not an IPv6 address; "
                        + "write one as [::1] (zone IDs are not supported)")
            }
            portText = after.isEmpty ? nil : after.dropFirst()
        } else {
            guard !text.contains(",") else {
                throw problem("lists several hosts; give exactly one")
            }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw problem(
                    "has more than one ':' after its host; "
                        + "write an IPv6 address in brackets, as in postgres://app@[::1]:5432/secrets")
            }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty else { throw noHost }
            guard host.utf8.allSatisfy(isHostByte) else {
                throw problem(
                    "has an invalid host '\(host)'; use a DNS name or an IP address (an IPv6 address in brackets)")
            }
        }
        guard let portText else { return (host, 5432) }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ (48...57).contains($0) }), let port = Int(portText),
            (1...65535).contains(port)
        else {
            throw problem("has a port that is not a number from 1 to 65535; write HOST:PORT, as in db.internal:5432")
        }
        return (host, port)
    }

    /// The `NAME=VALUE` pairs after `?`, percent-decoded; empty pairs (`?&a=b&`) are skipped.
    private static func parameters(
        _ query: Substring?, problem: (String) -> PostgresLocationError
    ) throws(PostgresLocationError) -> [String: String] {
        let supported = supportedParameters.joined(separator: ", ")
        var parameters: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            guard let equals = pair.firstIndex(of: "=") else {
                throw problem("has a parameter with no '='; write NAME=VALUE, NAME one of \(supported)")
            }
            guard let name = percentDecoded(pair[..<equals]),
                let value = percentDecoded(pair[pair.index(after: equals)...])
            else {
                throw problem(badEscape(in: "its parameters"))
            }
            guard supportedParameters.contains(name) else {
                let hint =
                    switch name {
                    case "password": "; give the password in PGPASSWORD or a password file (~/.pgpass) instead"
                    case "user", "host", "port", "dbname":
                        "; write the user, host, port and database in the URL itself: "
                            + "postgres://USER@HOST:PORT/DATABASE"
                    default: ""
                    }
                throw problem("has an unknown parameter '\(name)'; supported: \(supported)\(hint)")
            }
            guard parameters.updateValue(value, forKey: name) == nil else {
                throw problem("gives \(name) twice; keep one")
            }
        }
        return parameters
    }

    private static func badEscape(in part: String) -> String {
        "has an invalid percent-escape in \(part); write '%' itself as %25, and only UTF-8 text "
            + "without control characters"
    }

    /// `text` with its `%XX` escapes decoded (`+` stays `+`, as in libpq); nil when an escape is
    /// malformed or the result is not UTF-8 text free of control characters.
    static func percentDecoded(_ text: Substring) -> String? {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < input.count {
            guard input[index] == UInt8(ascii: "%") else {
                bytes.append(input[index])
                index += 1
                continue
            }
            guard index + 2 < input.count, let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            else { return nil }
            bytes.append(high << 4 | low)
            index += 3
        }
        guard let decoded = String(bytes: bytes, encoding: .utf8),
            !decoded.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return nil }
        return decoded
    }

    /// `text` with every byte but the URL-unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".unicodeScalars)
        var encoded = String.UnicodeScalarView()
        for byte in text.utf8 {
            if isHostByte(byte) || byte == UInt8(ascii: "~") {
                encoded.append(UnicodeScalar(byte))
            } else {
                encoded.append(contentsOf: ["%", hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
            }
        }
        return String(encoded)
    }

    /// `localhost`, `127.0.0.0/8` or `::1` (in any spelling).
    static func isLoopback(_ host: some StringProtocol) -> Bool {
        if host.lowercased() == "localhost" { return true }
        if let address = ipv6Address(host) { return address == Array(repeating: 0, count: 15) + [1] }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The 16 bytes of an IPv6 address, or nil when `text` is not one.
    private static func ipv6Address(_ text: some StringProtocol) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let parsed = String(text).withCString { inet_pton(AF_INET6, $0, &bytes) }
        return parsed == 1 ? bytes : nil
    }

    /// ASCII letters, digits, `-`, `.` and `_`: what a host name (or IPv4 address) is made of.
    private static func isHostByte(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// A PostgreSQL URL cut into its parts as written (still percent-encoded), before any check.
private struct WrittenURL {
    let scheme: Substring
    let user: Substring?
    let password: Substring?
    let hostAndPort: Substring
    /// After the `/` that follows the host.
    let path: Substring?
    /// After the `?`.
    let query: Substring?
    let hasFragment: Bool

    init?(_ text: String) {
        guard let separator = text.range(of: "://"),
            ["postgres", "postgresql"].contains(text[..<separator.lowerBound].lowercased())
        else { return nil }
        scheme = text[..<separator.lowerBound]
        var rest = text[separator.upperBound...]
        // RFC 3986: the authority ends at the first '/', '?' or '#', and its user info at the
        // authority's last '@'. So an '@' in the path or the parameters never moves the host.
        let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            let colon = userInfo.firstIndex(of: ":")
            user = userInfo[..<(colon ?? userInfo.endIndex)]
            password = colon.map { userInfo[userInfo.index(after: $0)...] }
            hostAndPort = authority[authority.index(after: at)...]
        } else {
            user = nil
            password = nil
            hostAndPort = authority
        }
        rest = rest[authorityEnd...]
        hasFragment = rest.contains("#")
        rest = rest[..<(rest.firstIndex(of: "#") ?? rest.endIndex)]
        let question = rest.firstIndex(of: "?")
        query = question.map { rest[rest.index(after: $0)...] }
        rest = rest[..<(question ?? rest.endIndex)]
        path = rest.isEmpty ? nil : rest.dropFirst()
    }

    /// The URL for messages: no password, parameters or fragment. With `upToHost` and no `@`,
    /// nothing after the host when a `:` follows it: in `postgres://app:secret/db`, a password
    /// typed without its `@host` sits where the port goes.
    func redacted(upToHost: Bool) -> String {
        let start = "\(scheme)://" + (user.map { "\($0)@" } ?? "")
        let hostEnd =
            hostAndPort.hasPrefix("[")
            ? hostAndPort.firstIndex(of: "]").map { hostAndPort.index(after: $0) }
                ?? hostAndPort.index(after: hostAndPort.startIndex)
            : hostAndPort.firstIndex(of: ":") ?? hostAndPort.endIndex
        guard upToHost, user == nil, hostEnd < hostAndPort.endIndex else {
            return start + hostAndPort + (path.map { "/\($0)" } ?? "")
        }
        return start + hostAndPort[..<hostEnd] + "…"
    }
}

// MARK: - Password

/// The password for a `PostgresLocation` and where it was found. It prints without the password.
public struct PasswordResolution: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Where a password was found.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case url
        /// `PGPASSWORD`.
        case environment
        case passfile(path: String)

        /// `the URL`, `PGPASSWORD` or the password file's path, for messages.
        public var description: String {
            switch self {
            case .url: "the URL"
            case .environment: "PGPASSWORD"
            case .passfile(let path): path
            }
        }
    }

    /// The password, or nil when none was found (the server may not need one).
    public let password: String?
    /// Where `password` came from; nil exactly when `password` is.
    public let source: Source?
    /// Why a password file was skipped, a sentence for the caller to print once (after
    /// `warning: `); nil when nothing is amiss, including when there is no password file.
    public let warning: String?

    init(password: String, source: Source) {
        self.password = password
        self.source = source
        warning = nil
    }

    private init(warning: String?) {
        password = nil
        source = nil
        self.warning = warning
    }

    static func notFound(warning: String? = nil) -> PasswordResolution {
        PasswordResolution(warning: warning)
    }

    /// `a password from PGPASSWORD`, or `no password`.
    public var description: String { source.map { "a password from \($0)" } ?? "no password" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["source": source as Any, "warning": warning as Any])
    }
}

extension PostgresLocation {
    /// The password to connect with, looked for in libpq's order: the URL, then `PGPASSWORD`
    /// (empty counts as unset), then the password file (`PGPASSFILE`, else `.pgpass` in
    /// `homeDirectory`).
    ///
    /// Never fails. A missing password file is skipped quietly; one libpq would ignore (group or
    /// world access, not a regular file) or that cannot be read is skipped with a `warning`. The
    /// file's first line matching this host, port, database and user wins.
    public func password(environment: [String: String], homeDirectory: String?) -> PasswordResolution {
        if let passwordInURL { return PasswordResolution(password: passwordInURL, source: .url) }
        if let fromEnvironment = environment["PGPASSWORD"], !fromEnvironment.isEmpty {
            return PasswordResolution(password: fromEnvironment, source: .environment)
        }
        let path: String
        if let fromEnvironment = environment["PGPASSFILE"], !fromEnvironment.isEmpty {
            path = fromEnvironment
        } else if let homeDirectory, !homeDirectory.isEmpty {
            path = homeDirectory.hasSuffix("/") ? homeDirectory + ".pgpass" : homeDirectory + "/.pgpass"
        } else {
            return .notFound()
        }
        return Passfile.password(in: path, for: [host, String(port), database, user])
    }
}

/// libpq's password file: lines of `hostname:port:database:username:password`, where a field of
/// just `*` matches anything, `\` escapes the next character and a line starting with `#` is a
/// comment (https://www.postgresql.org/docs/current/libpq-pgpass.html).
private enum Passfile {
    static let maxBytes = 1 << 20

    /// Why a file was skipped; `warning` is nil when it is simply not there.
    struct Skipped: Error {
        let warning: String?
    }

    /// The password of the first line of the file at `path` whose four fields match `wanted`
    /// (hostname, port, database, user).
    static func password(in path: String, for wanted: [String]) -> PasswordResolution {
        let bytes: [UInt8]
        do {
            bytes = try contents(of: path)
        } catch {
            return .notFound(warning: error.warning)
        }
        let tokens = wanted.map { Array($0.utf8) }
        for rawLine in bytes.split(separator: UInt8(ascii: "\n")) where rawLine.first != UInt8(ascii: "#") {
            let end = rawLine.lastIndex { $0 != UInt8(ascii: "\r") }.map { $0 + 1 } ?? rawLine.startIndex
            let line = rawLine[..<end]
            guard let password = password(in: line, matching: tokens) else { continue }
            guard !password.isEmpty else { return .notFound() }
            guard let text = String(bytes: password, encoding: .utf8) else {
                return .notFound(
                    warning: "the matching line of the password file \(path) has a password that is not UTF-8, "
                        + "so it is not used; write it in UTF-8")
            }
            return PasswordResolution(password: text, source: .passfile(path: path))
        }
        return .notFound()
    }

    /// The (still escaped) password of `line` when its first four fields match `tokens`.
    private static func password(in line: ArraySlice<UInt8>, matching tokens: [[UInt8]]) -> [UInt8]? {
        var rest = line
        for token in tokens {
            if rest.starts(with: [UInt8(ascii: "*"), UInt8(ascii: ":")]) {
                rest = rest.dropFirst(2)
                continue
            }
            let (value, after) = field(rest)
            guard value == token, let after else { return nil }
            rest = after
        }
        return field(rest).value
    }

    /// The field starting `text`, up to its first unescaped `:`, with `\` escapes removed (a `\`
    /// ending the line is kept), and what follows that `:` (nil when no `:` ends the field).
    private static func field(_ text: ArraySlice<UInt8>) -> (value: [UInt8], rest: ArraySlice<UInt8>?) {
        var value: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == UInt8(ascii: ":") { return (value, text[(index + 1)...]) }
            if text[index] == UInt8(ascii: "\\"), index + 1 < text.endIndex { index += 1 }
            value.append(text[index])
            index += 1
        }
        return (value, nil)
    }

    /// The file's bytes, when it is a regular file with no group or world access (libpq's rule,
    /// checked on what the path leads to) of at most `maxBytes`. Nothing but a regular file is
    /// opened, and that without blocking, so a FIFO in its place cannot hang the caller.
    private static func contents(of path: String) throws(Skipped) -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else { throw skipped(path, errno) }
        try check(info, path)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard descriptor >= 0 else { throw skipped(path, errno) }
        defer { close(descriptor) }
        // The path may have been replaced since `stat`: check what was opened.
        guard fstat(descriptor, &info) == 0 else { throw skipped(path, errno) }
        try check(info, path)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= maxBytes {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw skipped(path, errno)
            }
            bytes += chunk[..<count]
        }
        throw Skipped(
            warning: "the password file \(path) is larger than 1 MiB, so it is ignored; "
                + "keep only its hostname:port:database:username:password lines")
    }

    private static func check(_ info: stat, _ path: String) throws(Skipped) {
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Skipped(
                warning: "the password file \(path) is not a regular file, so it is ignored (as libpq does); "
                    + "make it a regular file with mode 0600")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw Skipped(
                warning: "the password file \(path) has group or world access, so it is ignored (as libpq does); "
                    + "restrict it with chmod 0600 \(path)")
        }
    }

    private static func skipped(_ path: String, _ code: Int32) -> Skipped {
        guard code != ENOENT, code != ENOTDIR else { return Skipped(warning: nil) }
        return Skipped(
            warning: "the password file \(path) cannot be read (\(String(cString: strerror(code)))), "
                + "so it is ignored; check its permissions")
    }
}

/// Why a PostgreSQL URL was refused: one message naming where the URL came from (`--state` or
/// `STRIPE_SECRETS_STATE`) and how to fix it. It never contains the URL's password.
public struct PostgresLocationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}
