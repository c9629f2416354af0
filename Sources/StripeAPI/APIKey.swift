import Foundation
import SecretsModel

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
        var key = text
        while let last = key.unicodeScalars.last, last == "\n" || last == "\r" || last == " " {
            key.unicodeScalars.removeLast()
        }
        guard let mode = Self.mode(ofKey: key) else {
            throw Problem(
                description:
                    "the API key is not a Stripe secret or restricted key (sk_test_…, sk_live_…, rk_test_…, rk_live_…, then letters and digits)"
            )
        }
        secret = key
        self.mode = mode
    }

    /// The mode of a well-formed key (`sk_`/`rk_`, `test_`/`live_`, then letters, digits and
    /// `_`), or nil. The one rule for keys, shared with the emulator.
    public static func mode(ofKey key: String) -> StripeMode? {
        let kinds: [(String, StripeMode)] = [
            ("sk_test_", .test), ("rk_test_", .test), ("sk_live_", .live), ("rk_live_", .live),
        ]
        guard let (prefix, mode) = kinds.first(where: { key.hasPrefix($0.0) }), key.utf8.count > prefix.utf8.count,
            key.utf8.allSatisfy({
                (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95
            })
        else { return nil }
        return mode
    }

    /// `text` with whatever follows a key prefix (`sk_test_`, `rk_live_`, …) replaced by `…`.
    static func maskingKeys(in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        let prefixes = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        while let range = prefixes.compactMap({ rest.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            out += rest[..<range.upperBound] + "…"
            rest = rest[range.upperBound...].drop { !$0.isWhitespace && $0 != "'" && $0 != "\"" && $0 != "," }
        }
        return out + rest
    }

    /// `sk_test_…`
    public var description: String { String(secret.prefix(8)) + "…" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
