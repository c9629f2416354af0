#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Environment variables as values are read from them: verbatim, and only when they are UTF-8
/// text (a value that is not is reported, never silently repaired).
public struct Environment: Sendable, ExpressibleByDictionaryLiteral {
    public let values: [String: String]
    /// Variables that are set but whose bytes are not UTF-8.
    public let notUTF8: Set<String>

    public init(values: [String: String], notUTF8: Set<String> = []) {
        self.values = values
        self.notUTF8 = notUTF8
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(values: Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// This process's environment.
    public static var process: Environment {
        var values: [String: String] = [:]
        var notUTF8: Set<String> = []
        var pointer = environ
        while let entry = pointer.pointee {
            pointer += 1
            let bytes = UnsafeBufferPointer(
                start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: bytes[..<equals], as: UTF8.self)
            if let value = String(validating: bytes[(equals + 1)...], as: UTF8.self) {
                values[name] = value
            } else {
                notUTF8.insert(name)
            }
        }
        return Environment(values: values, notUTF8: notUTF8)
    }
}

/// Recognises text that looks like a credential, so that a value pasted where a name belongs
/// (a key, a variable name, a path) is refused without being echoed.
enum CredentialShape {
    /// How well-known credentials begin (Stripe, GitHub, Slack, AWS keys, PEM blocks).
    static let prefixes = [
        "sk_", "rk_", "pk_", "whsec_", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "AKIA", "-----BEGIN",
    ]
    /// Longer keys and variable names look like values, in UTF-8 bytes.
    static let maxNameLength = 64

    private static let prefixBytes = prefixes.map { Array($0.utf8) }
    private static let firstBytes = prefixBytes.compactMap(\.first)

    /// - Parameter lengthCounts: whether over `maxNameLength` alone looks like a value (true
    ///   for keys and variable names; paths may be long).
    static func matches(_ text: String, lengthCounts: Bool = true) -> Bool {
        let bytes = text.utf8
        if lengthCounts, bytes.count > maxNameLength { return true }
        guard let first = bytes.first, firstBytes.contains(first) else { return false }
        return prefixBytes.contains { bytes.starts(with: $0) }
    }
}
