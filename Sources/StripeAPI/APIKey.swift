import SecretsCore

/// A Stripe secret or restricted key. It prints as its prefix only (`sk_test_…`), so it cannot
/// reach output by accident.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key itself, for the Authorization header only.
    let secret: String
    /// Test or live mode, from the prefix.
    public let mode: StripeMode

    /// Why a key was refused; never contains the key past its prefix.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Accepts `sk_test_`, `sk_live_`, `rk_test_` and `rk_live_` keys.
    public init(_ text: String) throws(Problem) {
        let key = text.trimmingSuffix(while: { $0 == "\n" || $0 == "\r" || $0 == " " })
        let kinds: [(String, StripeMode)] = [
            ("sk_test_", .test), ("rk_test_", .test), ("sk_live_", .live), ("rk_live_", .live),
        ]
        guard let (_, mode) = kinds.first(where: { key.hasPrefix($0.0) && key.count > $0.0.count }) else {
            throw Problem(
                description:
                    "the API key is not a Stripe secret or restricted key (sk_test_…, sk_live_…, rk_test_…, rk_live_…)")
        }
        guard key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw Problem(description: "the API key holds spaces or other characters a Stripe key never has")
        }
        secret = key
        self.mode = mode
    }

    /// `sk_test_…`
    public var description: String { String(secret.prefix(8)) + "…" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var result = self
        while let last = result.last, predicate(last) { result.removeLast() }
        return result
    }
}
