/// Whose secret it is within an account: the account's own, or one user's.
public enum SecretScope: Hashable, Comparable, Sendable, CustomStringConvertible {
    case account
    case user(String)

    /// `account` or `user:usr_…`, as in an address.
    public var description: String {
        switch self {
        case .account: "account"
        case .user(let user): "user:\(user)"
        }
    }
}

/// A scope within one account (nil: the API key's own account).
public struct ScopeKey: Hashable, Sendable {
    public let account: String?
    public let scope: SecretScope
}

/// A secret's identity in Stripe: (connected account, scope, name).
///
/// Written `[acct_…/]account/NAME` or `[acct_…/]user:usr_…/NAME`; the name is everything after
/// the scope part, so it may contain `/`. A nil account is the API key's own account.
public struct SecretAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let account: String?
    public let scope: SecretScope
    public let name: String

    public init(account: String?, scope: SecretScope, name: String) {
        self.account = account
        self.scope = scope
        self.name = name
    }

    /// Parses the written form; nil when it is not an address.
    public init?(_ text: String) {
        var rest = Substring(text)
        var account: String?
        if rest.hasPrefix("acct_"), let slash = rest.firstIndex(of: "/") {
            account = String(rest[..<slash])
            rest = rest[rest.index(after: slash)...]
        }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let scopePart = rest[..<slash]
        let name = rest[rest.index(after: slash)...]
        guard !name.isEmpty else { return nil }
        if scopePart == "account" {
            self.init(account: account, scope: .account, name: String(name))
        } else if scopePart.hasPrefix("user:"), scopePart.count > "user:".count {
            self.init(account: account, scope: .user(String(scopePart.dropFirst(5))), name: String(name))
        } else {
            return nil
        }
    }

    /// The scope with its account: what the 10-secret cap counts.
    public var scopeKey: ScopeKey { ScopeKey(account: account, scope: scope) }

    /// The scope with its account, written `[acct_…/]account`.
    public var scopeDescription: String {
        account.map { "\($0)/\(scope)" } ?? scope.description
    }

    public var description: String { "\(scopeDescription)/\(name)" }

    /// Names are compared byte for byte: Stripe does not normalise Unicode, so `"é"` and
    /// `"e\u{301}"` are two secrets. (Hashing stays `String`'s: equal bytes hash equally.)
    public static func == (lhs: SecretAddress, rhs: SecretAddress) -> Bool {
        lhs.account == rhs.account && lhs.scope == rhs.scope && lhs.name.hasSameBytes(as: rhs.name)
    }

    /// Sorts by account (own account first), then scope, then name by bytes: the order of
    /// every listing.
    public static func < (lhs: SecretAddress, rhs: SecretAddress) -> Bool {
        if lhs.account != rhs.account {
            guard let left = lhs.account else { return true }
            guard let right = rhs.account else { return false }
            return left < right
        }
        if lhs.scope != rhs.scope { return lhs.scope < rhs.scope }
        return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }
}
