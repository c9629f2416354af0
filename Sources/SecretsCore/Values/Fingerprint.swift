import Crypto
import Foundation
import SecretsModel

/// A keyed fingerprint of one secret's value: HMAC-SHA256(state key, address ∥ value).
///
/// Equal values at two addresses give unrelated fingerprints, and without the key a
/// fingerprint says nothing about the value. It is the only thing derived from a value that
/// is ever stored or shown.
public struct Fingerprint: Hashable, Sendable, Codable, CustomStringConvertible {
    /// 64 lowercase hex digits.
    public let hex: String

    public init?(hex: String) {
        var hex = hex
        // A native string's bytes are contiguous: checking the buffer is several times faster.
        guard hex.withUTF8(Self.isHex) else { return nil }
        self.hex = hex
    }

    /// `init(hex:)` of a text's UTF-8 bytes.
    public init?(hexUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard Self.isHex(bytes) else { return nil }
        hex = String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the bytes are 64 lowercase hex digits: checked eight at a time.
    private static func isHex(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 64 else { return false }
        let high: UInt64 = 0x8080_8080_8080_8080
        for offset in stride(from: 0, to: 64, by: 8) {
            let word = UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            // With its top bit set, a byte minus `k` keeps the top bit exactly when it is at least `k`,
            // and borrows nothing from its neighbour.
            let set = word | high
            let digits = (set &- 0x3030_3030_3030_3030) & ~(set &- 0x3A3A_3A3A_3A3A_3A3A)
            let letters = (set &- 0x6161_6161_6161_6161) & ~(set &- 0x6767_6767_6767_6767)
            guard word & high == 0, (digits | letters) & high == high else { return false }
        }
        return true
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
public struct FingerprintKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let bytes: [UInt8]

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }

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
/// costs more than hashing a short value).
public struct Fingerprinter {
    private let keyed: HMAC<SHA256>

    public init(_ key: FingerprintKey) {
        keyed = key.withBytes { HMAC<SHA256>(key: SymmetricKey(data: $0)) }
    }

    /// HMAC-SHA256 of the address's length (8 bytes, big-endian), the address and the value:
    /// the length prefix means no (address, value) pair can be shifted into another.
    public func fingerprint(of value: SecretValue, at address: SecretAddress) -> Fingerprint {
        let addressText = address.description
        var message: [UInt8] = []
        message.reserveCapacity(8 + addressText.utf8.count + value.plaintext.utf8.count)
        withUnsafeBytes(of: UInt64(addressText.utf8.count).bigEndian) { message.append(contentsOf: $0) }
        message.append(contentsOf: addressText.utf8)
        message.append(contentsOf: value.plaintext.utf8)
        var code = keyed
        code.update(data: message)
        // HMAC-SHA256 always gives 32 bytes, so this is always a valid fingerprint.
        return Fingerprint(uncheckedHex: Hex.encode(code.finalize()))
    }
}

extension Fingerprint {
    fileprivate init(uncheckedHex: String) {
        hex = uncheckedHex
    }
}

/// SHA-256 of some bytes, as lowercase hex.
public enum SHA256Digest {
    public static func hex(of bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }
}

private enum Hex {
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
