import Crypto
import Foundation
import SecretsModel

/// A keyed fingerprint of one secret's value: HMAC-SHA256(state key, address ∥ value).
///
/// Equal values at two addresses give unrelated fingerprints, and without the key a
/// fingerprint says nothing about the value. It is the only thing derived from a value that
/// is ever stored or shown.
public struct Fingerprint: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The 32 bytes as four big-endian words, inline: making, comparing and hashing one
    /// allocates nothing.
    private let words: SIMD4<UInt64>

    /// 64 lowercase hex digits.
    public var hex: String { Hex.encode(words) }

    public init?(hex: String) {
        var hex = hex
        guard let parsed = hex.withUTF8(Self.words(fromHex:)) else { return nil }
        words = parsed
    }

    /// The words of 64 lowercase hex digits; nil for anything else. (Each word is built in a
    /// register: setting a SIMD lane by a computed index costs a trip through memory per digit.)
    private static func words(fromHex digits: UnsafeBufferPointer<UInt8>) -> SIMD4<UInt64>? {
        guard digits.count == 64 else { return nil }
        func word(_ start: Int) -> UInt64? {
            var value: UInt64 = 0
            var bad: UInt8 = 0
            for index in start..<start + 16 {
                let digit = digits[index]
                let number = digit &- UInt8(ascii: "0"), letter = digit &- UInt8(ascii: "a")
                let isNumber = number < 10, isLetter = letter < 6
                // Without branches: digits and letters come in random order, and a mispredicted
                // branch per digit cost more than the rest of reading a state entry.
                bad |= isNumber || isLetter ? 0 : 1
                value = value << 4 | UInt64(isNumber ? number : letter &+ 10)
            }
            return bad == 0 ? value : nil
        }
        guard let first = word(0), let second = word(16), let third = word(32), let fourth = word(48) else {
            return nil
        }
        return SIMD4(first, second, third, fourth)
    }

    /// The fingerprint whose bytes are `digest`'s 32.
    fileprivate init(digest: UnsafeRawBufferPointer) {
        func word(_ index: Int) -> UInt64 {
            UInt64(bigEndian: digest.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
        }
        words = SIMD4(word(0), word(1), word(2), word(3))
    }

    /// `init(hex:)` of a text's UTF-8 bytes.
    public init?(hexUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard let parsed = Self.words(fromHex: bytes) else { return nil }
        words = parsed
    }

    /// The first 8 hex digits, for showing that a value changed.
    public var short: String { String(hex.prefix(8)) }

    public var description: String { short }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let fingerprint = Fingerprint(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a 64-digit hex fingerprint"))
        }
        self = fingerprint
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// The key a state's fingerprints are made with: 32 random bytes stored base64 in the state, or
/// a key kept apart from it (`STRIPE_SECRETS_FINGERPRINT_KEY`), of which the state records only
/// an identifier. Printing, interpolating or dumping it shows `<redacted>`.
public struct FingerprintKey: Sendable, Equatable, Redacted {
    private let bytes: [UInt8]

    /// The least key material accepted, in bytes.
    public static let minimumLength = 32

    /// A new random key.
    public init() {
        bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// The key from its base64 form as a state stores it; nil unless it is 32 bytes.
    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        bytes = Array(data)
    }

    /// A kept-apart key from a variable or a file: base64 of at least 32 bytes (one trailing
    /// newline ignored), or, from a file, at least 32 raw bytes. Nil when it is neither.
    public init?(keptApart material: [UInt8], allowRaw: Bool) {
        var text = material
        if text.last == UInt8(ascii: "\n") { text.removeLast() }
        if text.last == UInt8(ascii: "\r") { text.removeLast() }
        if let data = Data(base64Encoded: Data(text)), data.count >= Self.minimumLength {
            bytes = Array(data)
        } else if allowRaw, material.count >= Self.minimumLength {
            bytes = material
        } else {
            return nil
        }
    }

    func withBytes<Result>(_ body: ([UInt8]) -> Result) -> Result { body(bytes) }

    public var base64: String {
        Data(bytes).base64EncodedString()
    }

    /// What a state records of a kept-apart key: an HMAC of a fixed text under the key, which
    /// names the key without giving anything to test guesses of it or of values against.
    public var identifier: String {
        authenticationCode(of: ["stripe-secrets fingerprint key identifier", "1"])
    }

    /// The fingerprint of `value` at `address` (see `Fingerprinter`).
    public func fingerprint(of value: SecretValue, at address: SecretAddress) -> Fingerprint {
        Fingerprinter(self).fingerprint(of: value, at: address)
    }

    /// HMAC-SHA256 of `parts`, each length-prefixed so that no two lists give the same input:
    /// authenticates records (an apply's journal) as written by someone who holds this key.
    public func authenticationCode(of parts: [String]) -> String {
        var code = HMAC<SHA256>(key: SymmetricKey(data: bytes))
        for part in parts {
            let bytes = Array(part.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { code.update(data: $0) }
            code.update(data: bytes)
        }
        return Hex.encode(code.finalize())
    }
}

/// Fingerprints many values under one key, which it prepares once (an HMAC's key schedule
/// costs more than hashing a short value), with no allocation.
/// The prepared key makes every fingerprint the key makes, so it prints as the key does.
public struct Fingerprinter: Redacted {
    private let hmac: HMACSHA256

    public init(_ key: FingerprintKey) {
        hmac = key.withBytes { HMACSHA256(key: $0) }
    }

    /// HMAC-SHA256 of the address's length (8 bytes, big-endian), the address and the value:
    /// the length prefix means no (address, value) pair can be shifted into another. The
    /// address is fed piece by piece, exactly as `SecretAddress.description` writes it.
    public func fingerprint(of value: SecretValue, at address: SecretAddress) -> Fingerprint {
        var message = hmac.start()
        withUnsafeBytes(of: UInt64(address.utf8Count).bigEndian) { message.absorb($0) }
        address.write(to: &message)
        message.absorb(value.plaintext)
        return hmac.finish(message) { Fingerprint(digest: $0) }
    }
}

/// SHA-256 of some bytes, as lowercase hex.
public enum SHA256Digest {
    public static func hex(of bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }
}

private enum Hex {
    static func encode(_ bytes: some Sequence<UInt8>) -> String { encode(Array(bytes)) }

    /// Four big-endian words as 64 digits.
    static func encode(_ words: SIMD4<UInt64>) -> String {
        String(unsafeUninitializedCapacity: 64) { out in
            for position in 0..<4 {
                let word = words[position]
                for nibble in 0..<16 {
                    out[16 * position + nibble] = digit(UInt8(truncatingIfNeeded: word >> (60 - 4 * nibble)) & 0x0F)
                }
            }
            return 64
        }
    }

    static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = digit(byte >> 4)
                out[2 * index + 1] = digit(byte & 0x0F)
            }
            return bytes.count * 2
        }
    }

    private static func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 48 + nibble : 87 + nibble }
}

/// Key material, or what is as good as it (an HMAC's prepared chaining values): printing,
/// interpolating, reflecting or dumping it shows `<redacted>` and no field.
public protocol Redacted: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {}

extension Redacted {
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
