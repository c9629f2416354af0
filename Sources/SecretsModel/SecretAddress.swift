/// Whose secret it is within an account: the account's own, or one user's.
public enum SecretScope: Hashable, Comparable, Sendable, CustomStringConvertible {
    case account
    case user(String)

    /// The user of a user scope.
    public var user: String? {
        if case .user(let user) = self { return user }
        return nil
    }

    /// `account` or `user:usr_…`, as in an address.
    public var description: String {
        switch self {
        case .account: "account"
        case .user(let user): "user:\(user)"
        }
    }
}

/// A scope within one account (nil: the API key's own account).
public struct ScopeKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let account: String?
    public let scope: SecretScope

    public init(account: String?, scope: SecretScope) {
        self.account = account
        self.scope = scope
    }

    /// `[acct_…/]account` or `[acct_…/]user:usr_…`, as in an address.
    public var description: String { account.map { "\($0)/\(scope)" } ?? scope.description }

    /// Own account first, then by account, then by scope: the order addresses sort in.
    public static func < (lhs: ScopeKey, rhs: ScopeKey) -> Bool {
        if lhs.account != rhs.account {
            guard let left = lhs.account else { return true }
            guard let right = rhs.account else { return false }
            return left < right
        }
        return lhs.scope < rhs.scope
    }
}

/// A secret's identity in Stripe: (connected account, scope, name).
///
/// Written `[acct_…/]account/NAME` or `[acct_…/]user:usr_…/NAME`; the name is everything after
/// the scope part, so it may contain `/`. A nil account is the API key's own account.
public struct SecretAddress: Hashable, Comparable, Sendable, CustomStringConvertible, TextOutputStreamable {
    public let account: String?
    public let scope: SecretScope
    public let name: String

    public init(account: String?, scope: SecretScope, name: String) {
        self.account = account
        self.scope = scope
        self.name = name
    }

    /// Parses the written form; nil when it is not an address. Read byte by byte, like every
    /// comparison of addresses: a name may begin with a combining mark, which would hide the
    /// `/` before it from a search by characters.
    public init?(_ text: String) {
        var text = text
        guard let address = text.withUTF8(Self.init(utf8:)) else { return nil }
        self = address
    }

    /// Parses the written form from its UTF-8 bytes (which must be valid UTF-8).
    public init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        guard let parts = Parts(bytes) else { return nil }
        self.init(parts, of: bytes)
    }

    /// Where in a written address its parts are: the bytes of its account, its user (for a
    /// user scope) and its name.
    private struct Parts {
        var account: Range<Int>?
        var user: Range<Int>?
        var name: Range<Int>

        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            let slash = UInt8(ascii: "/")
            var start = 0
            if bytes.starts(with: "acct_"), let end = bytes.firstIndex(of: slash) {
                account = 0..<end
                start = end + 1
            }
            guard let end = bytes[start...].firstIndex(of: slash), end + 1 < bytes.count else { return nil }
            let scopePart = UnsafeBufferPointer(rebasing: bytes[start..<end])
            name = end + 1..<bytes.count
            if scopePart.count == 7, scopePart.starts(with: "account") { return }
            guard scopePart.starts(with: "user:"), scopePart.count > 5 else { return nil }
            user = start + 5..<end
        }
    }

    private init(_ parts: Parts, of bytes: UnsafeBufferPointer<UInt8>) {
        func string(_ range: Range<Int>) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        self.init(
            account: parts.account.map(string), scope: parts.user.map { .user(string($0)) } ?? .account,
            name: string(parts.name))
    }

    /// The scope with its account: what the 10-secret cap counts.
    public var scopeKey: ScopeKey { ScopeKey(account: account, scope: scope) }

    /// Whether `other` is in the same scope of the same account. (Inlinable, so that addresses
    /// in an array are compared where they are, not copied out first.)
    @inlinable
    public func sharesScope(with other: SecretAddress) -> Bool {
        account == other.account && scope == other.scope
    }

    /// The scope with its account, written `[acct_…/]account`.
    public var scopeDescription: String { scopeKey.description }

    public var description: String {
        var text = ""
        text.reserveCapacity(utf8Count)
        write(to: &text)
        return text
    }

    /// The length of `description` in UTF-8 bytes, without making it.
    public var utf8Count: Int {
        let scopeLength = scope.user.map { "user:".utf8.count + $0.utf8.count } ?? "account".utf8.count
        return (account.map { $0.utf8.count + 1 } ?? 0) + scopeLength + 1 + name.utf8.count
    }

    /// Writes `description` part by part, without making it. (Inlinable, so that it is
    /// specialised for each kind of output.)
    @inlinable
    public func write(to target: inout some TextOutputStream) {
        if let account {
            target.write(account)
            target.write("/")
        }
        switch scope {
        case .account: target.write("account")
        case .user(let user):
            target.write("user:")
            target.write(user)
        }
        target.write("/")
        target.write(name)
    }

    /// Compared byte for byte: Stripe does not normalise Unicode, so `"é"` and `"e\u{301}"` are
    /// two secrets. (Hashing stays `String`'s: equal bytes hash equally.)
    public static func == (lhs: SecretAddress, rhs: SecretAddress) -> Bool {
        lhs.name.hasSameBytes(as: rhs.name) && lhs.account.hasSameBytes(as: rhs.account)
            && lhs.scope.user.hasSameBytes(as: rhs.scope.user)
    }

    /// Why `name` cannot be a secret's name, or nil when it can.
    public enum NameProblem: Equatable, Sendable {
        case empty
        case tooLong(Int)
        /// Controls, format characters (zero-width, bidi, BOM) and line or paragraph separators.
        case invisibleCharacter
    }

    /// Stripe's limit on a name, in characters.
    public static let maxNameLength = StripeLimits.maxLength

    public static func nameProblem(_ name: String) -> NameProblem? {
        var name = name
        return name.withUTF8(nameProblem(utf8:))
    }

    /// `nameProblem` of a name's UTF-8 bytes (which must be valid UTF-8).
    public static func nameProblem(utf8 name: UnsafeBufferPointer<UInt8>) -> NameProblem? {
        var length = 0
        var invisible = false
        for byte in name where byte & 0xC0 != 0x80 {
            length += 1
            if byte < 0x20 || byte == 0x7F { invisible = true }
        }
        if !invisible, length != name.count {
            invisible = String(decoding: name, as: UTF8.self).unicodeScalars.contains { scalar in
                switch scalar.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator: true
                default: false
                }
            }
        }
        if name.isEmpty { return .empty }
        if length > maxNameLength { return .tooLong(length) }
        return invisible ? .invisibleCharacter : nil
    }

    /// The longest Stripe id accepted, prefix included.
    public static let maxIDLength = 255

    /// `prefix` followed by ASCII letters and digits, `maxIDLength` at most in all: `acct_…`, `usr_…`.
    public static func isStripeID(_ text: String, prefix: StaticString) -> Bool {
        var text = text
        return text.withUTF8 { isStripeID(utf8: $0, prefix: prefix) }
    }

    /// `isStripeID` of a text's UTF-8 bytes.
    public static func isStripeID(utf8 bytes: UnsafeBufferPointer<UInt8>, prefix: StaticString) -> Bool {
        guard bytes.count > prefix.utf8CodeUnitCount, bytes.count <= maxIDLength, bytes.starts(with: prefix) else {
            return false
        }
        // A digit, or a letter of either case (`| 0x20` makes an upper-case letter lower-case).
        for byte in UnsafeBufferPointer(rebasing: bytes[prefix.utf8CodeUnitCount...])
        where byte &- 48 > 9 && (byte | 0x20) &- 97 > 25 {
            return false
        }
        return true
    }

    /// Parses the written form and checks it by the manifest's rules (valid ids, a valid
    /// name): for addresses read from files and the command line.
    public init?(validating text: String) {
        var text = text
        guard let address = text.withUTF8(Self.init(validatingUTF8:)) else { return nil }
        self = address
    }

    /// `init(validating:)` of a text's UTF-8 bytes (which must be valid UTF-8).
    public init?(validatingUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        func part(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[range]) }
        guard let parts = Parts(bytes), Self.nameProblem(utf8: part(parts.name)) == nil,
            parts.account.map({ Self.isStripeID(utf8: part($0), prefix: "acct_") }) ?? true,
            parts.user.map({ Self.isStripeID(utf8: part($0), prefix: "usr_") }) ?? true
        else { return nil }
        self.init(parts, of: bytes)
    }

    /// Sorts by account (own account first), then scope, then name by bytes: the order of
    /// every listing.
    public static func < (lhs: SecretAddress, rhs: SecretAddress) -> Bool {
        if !lhs.sharesScope(with: rhs) { return lhs.scopeKey < rhs.scopeKey }
        return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }
}

/// Stripe's documented limits on the Secret Store.
public enum StripeLimits {
    /// Characters in a name, a payload or a user id (counted as Unicode scalars).
    public static let maxLength = 5000
    /// Secrets in one scope of one account.
    public static let secretsPerScope = 10
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes begin with `prefix`'s (compared as bytes, not as a `String`).
    fileprivate func starts(with prefix: StaticString) -> Bool {
        guard count >= prefix.utf8CodeUnitCount else { return false }
        for offset in 0..<prefix.utf8CodeUnitCount where self[offset] != prefix.utf8Start[offset] { return false }
        return true
    }
}
