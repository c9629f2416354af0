import Foundation

/// Where Stripe (or the emulator) answers: `https://api.stripe.com`, or plain `http://` on
/// loopback only, so a key is never sent in the clear over a network.
public struct BaseURL: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int

    public static let stripe = BaseURL(scheme: "https", host: "api.stripe.com", port: 443)

    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    private init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `scheme://host[:port]` (a trailing `/` is allowed; a path is not).
    public init(_ text: String) throws(Problem) {
        guard let separator = text.range(of: "://") else {
            throw Problem(
                description:
                    "the API base URL is not a URL like https://api.stripe.com (it is not shown, in case it holds a key)"
            )
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        var rest = Substring(text[separator.upperBound...])
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard scheme == "https" || scheme == "http" else {
            throw Problem(description: "the API base URL must start with https:// (or http:// on loopback)")
        }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
            throw Problem(
                description: "the API base URL must be scheme://host[:port], with no path, user, password or query")
        }
        var host = String(rest)
        var port = scheme == "https" ? 443 : 80
        if host.hasPrefix("[") {  // [::1]:12111
            guard let close = host.firstIndex(of: "]") else {
                throw Problem(description: "the API base URL has an unclosed [")
            }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw Problem(description: "the API base URL has an invalid port")
                }
                port = number
            } else if !after.isEmpty {
                throw Problem(description: "the API base URL has an invalid host")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let number = Int(host[host.index(after: colon)...]), (1...65535).contains(number) else {
                throw Problem(description: "the API base URL has an invalid port")
            }
            port = number
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw Problem(description: "the API base URL has no host") }
        if scheme == "http", !Self.isLoopback(host) {
            throw Problem(description: "refusing to send the API key over plain http to \(host); use https")
        }
        self.init(scheme: scheme, host: host, port: port)
    }

    /// `localhost`, `127.0.0.0/8` or `::1`.
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public var description: String {
        let defaultPort = scheme == "https" ? 443 : 80
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? "\(scheme)://\(shownHost)" : "\(scheme)://\(shownHost):\(port)"
    }
}
