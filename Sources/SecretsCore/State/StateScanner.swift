import Foundation
import SecretsModel

/// A state document read in one pass over its bytes, straight into the state's parts: no tree,
/// no intermediate records, keys matched as bytes, a string made only for a value that is kept.
///
/// It reads only what `StrictJSON`'s checks and `JSONDecoder` accept as it is, with entries that
/// pass `StateDocument`'s checks, and gives exactly what those would. Anything else, however
/// harmless, gives nil: `StateDocument` then reads the bytes the slow way, which names what is
/// wrong.
struct StateScanner {
    /// The document (for strings with escapes), and its bytes.
    private let document: [UInt8]
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    /// The header and entries of `document`, or nil when the slow reader must read it.
    static func read(_ document: [UInt8]) -> (header: StateDocument.Header, secrets: [SecretAddress: State.Entry])? {
        document.withUnsafeBufferPointer { bytes in
            var scanner = StateScanner(document: document, bytes: bytes)
            return scanner.state()
        }
    }

    private init(document: [UInt8], bytes: UnsafeBufferPointer<UInt8>) {
        self.document = document
        self.bytes = bytes
    }

    /// The fields of the document and of an entry, in the order `state()` and `entry()` number
    /// them (an entry's as the tool writes them, which `object` tries first).
    private static let fields: [StaticString] = [
        "format", "format_version", "lineage", "serial", "mode", "fingerprint_key", "fingerprint_key_id", "secrets",
    ]
    private static let entryFields: [StaticString] = [
        "address", "applied_at", "expires_at", "fingerprint", "id", "protected_since",
    ]
    private static let format: StaticString = "stripe-secrets-state"

    private mutating func state() -> (header: StateDocument.Header, secrets: [SecretAddress: State.Entry])? {
        var isFormat = false
        var isVersion = false
        var lineage: String?
        var serial: Int64?
        var mode: StripeMode?
        var key: String?
        var keyID: String?
        var secrets: [SecretAddress: State.Entry]?
        var highestSince: Int64 = 0
        skipSpace()
        let read = object(Self.fields) { scanner, field in
            switch field {
            case 0:
                isFormat = scanner.string { Self.equal($0, Self.format) ? true : nil } ?? false
                return isFormat
            case 1:
                isVersion = scanner.integer().map { (1...Int64(State.formatVersion)).contains($0) } ?? false
                return isVersion
            case 2:
                lineage = scanner.text()
                return lineage != nil
            case 3:
                serial = scanner.integer()
                return serial != nil
            case 4:
                let read = scanner.optional { $0.string { StripeMode(rawValue: String(decoding: $0, as: UTF8.self)) } }
                mode = read ?? nil
                return read != nil
            case 5:
                let read = scanner.optional { $0.text() }
                key = read ?? nil
                return read != nil
            case 6:
                let read = scanner.optional { $0.text() }
                keyID = read ?? nil
                return read != nil
            default:
                secrets = scanner.entries(highestSince: &highestSince)
                return secrets != nil
            }
        }
        skipSpace()
        guard read, index == bytes.count, isFormat, isVersion, let lineage, let serial, let secrets,
            highestSince <= serial
        else { return nil }
        let header = StateDocument.Header(
            lineage: lineage, serial: Int(serial), mode: mode, fingerprintKey: key, fingerprintKeyId: keyID)
        return (header, secrets)
    }

    /// The list of entries, keyed by address; nil when any is refused or listed twice.
    /// `highestSince` is raised to the highest `protected_since`, which the serial (read
    /// later, perhaps) must reach.
    private mutating func entries(highestSince: inout Int64) -> [SecretAddress: State.Entry]? {
        // Sized once for a document as the tool writes it, about 250 bytes an entry (a denser
        // one makes the dictionary grow once or twice).
        var secrets = [SecretAddress: State.Entry](minimumCapacity: bytes.count / 256)
        let read = list { scanner in
            guard let (address, entry) = scanner.entry(highestSince: &highestSince) else { return false }
            return secrets.updateValue(entry, forKey: address) == nil
        }
        return read ? secrets : nil
    }

    private mutating func entry(highestSince: inout Int64) -> (SecretAddress, State.Entry)? {
        var address: SecretAddress?
        var id: String?
        var fingerprint: Fingerprint?
        var expiresAt: Int64?
        var appliedAt: Int64?
        var since: Int64?
        let read = object(Self.entryFields) { scanner, field in
            switch field {
            case 0:
                address = scanner.string(SecretAddress.init(validatingUTF8:))
                return address != nil
            case 1:
                appliedAt = scanner.string(Timestamp.parseStored(bytes:))
                return appliedAt != nil
            case 2:
                guard let read = scanner.optional({ $0.integer() }), Timestamp.isInRange(read) else { return false }
                expiresAt = read
                return true
            case 3:
                let read = scanner.optional { $0.string(Fingerprint.init(hexUTF8:)) }
                fingerprint = read ?? nil
                return read != nil
            case 4:
                id = scanner.string { bytes in
                    SecretAddress.isStripeID(utf8: bytes, prefix: "appsecret_")
                        ? String(decoding: bytes, as: UTF8.self) : nil
                }
                return id != nil
            default:
                guard let read = scanner.optional({ $0.integer() }), read ?? 0 >= 0 else { return false }
                since = read
                return true
            }
        }
        guard read, let address, let id, let appliedAt else { return nil }
        if let since { highestSince = max(highestSince, since) }
        return (
            address,
            State.Entry(
                id: id, fingerprint: fingerprint, expiresAt: expiresAt, appliedAt: appliedAt,
                protectedSince: since.map { Int($0) })
        )
    }

    // MARK: JSON, as StrictJSON reads it

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    /// An object whose keys are all among `fields`, none twice; `member` reads the value of each
    /// (given the key's position in `fields`) and tells whether it was accepted. The field after
    /// the last one is tried first.
    private mutating func object(_ fields: [StaticString], _ member: (inout StateScanner, Int) -> Bool) -> Bool {
        guard current == UInt8(ascii: "{") else { return false }
        index += 1
        skipSpace()
        if current == UInt8(ascii: "}") {
            index += 1
            return true
        }
        var seen: UInt64 = 0
        var next = 0
        while true {
            guard
                let field = string({ key in
                    next < fields.count && Self.equal(key, fields[next])
                        ? next : fields.firstIndex { Self.equal(key, $0) }
                }),
                seen & 1 << field == 0
            else { return false }
            seen |= 1 << field
            next = field + 1
            skipSpace()
            guard current == UInt8(ascii: ":") else { return false }
            index += 1
            skipSpace()
            guard member(&self, field) else { return false }
            skipSpace()
            if current == UInt8(ascii: ",") {
                index += 1
                skipSpace()
                continue
            }
            guard current == UInt8(ascii: "}") else { return false }
            index += 1
            return true
        }
    }

    /// A list; `element` reads each element and tells whether it was accepted.
    private mutating func list(_ element: (inout StateScanner) -> Bool) -> Bool {
        guard current == UInt8(ascii: "[") else { return false }
        index += 1
        skipSpace()
        if current == UInt8(ascii: "]") {
            index += 1
            return true
        }
        while true {
            guard element(&self) else { return false }
            skipSpace()
            if current == UInt8(ascii: ",") {
                index += 1
                skipSpace()
                continue
            }
            guard current == UInt8(ascii: "]") else { return false }
            index += 1
            return true
        }
    }

    /// A string, given to `use` as its text's UTF-8 bytes (escapes resolved, checked as UTF-8);
    /// nil when it is no string or `use` refuses it.
    private mutating func string<Value>(_ use: (UnsafeBufferPointer<UInt8>) -> Value?) -> Value? {
        guard current == UInt8(ascii: "\"") else { return nil }
        let quote = index
        index += 1
        // Most strings are ASCII without an escape: their bytes are their text. Eight bytes
        // at a time up to the first that may not be so.
        let words = UnsafeRawBufferPointer(bytes)
        while index + 8 <= bytes.count,
            !Self.mayEndPlainText(words.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        {
            index += 8
        }
        var seen: UInt8 = 0
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
            seen |= byte
            index += 1
        }
        if current == UInt8(ascii: "\""), seen < 0x80 {
            index += 1
            return use(UnsafeBufferPointer(rebasing: bytes[quote + 1..<index - 1]))
        }
        index = quote
        guard var text = StrictJSON.string(in: document, at: &index, .validated) else { return nil }
        return text.withUTF8(use)
    }

    /// Whether a key's bytes are `name`'s.
    private static func equal(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount, let base = key.baseAddress else { return false }
        return memcmp(base, name.utf8Start, key.count) == 0
    }

    /// The top bit of each of the eight bytes of `word` that is zero (and no other bit).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((word & low7) &+ low7) | word | low7)
    }

    /// Whether any of eight bytes is `"`, `\`, a control character or not ASCII: where a string's
    /// plain ASCII text may end.
    @inline(__always)
    private static func mayEndPlainText(_ word: UInt64) -> Bool {
        // A byte below 0x20 leaves the top bit clear when 0x60 is added to its low seven bits.
        let control = ~((word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x6060_6060_6060_6060)
        let quotes = zeroBytes(word ^ 0x2222_2222_2222_2222) | zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
        return (quotes | control | word) & 0x8080_8080_8080_8080 != 0
    }

    /// A string value, kept.
    private mutating func text() -> String? {
        string { String(decoding: $0, as: UTF8.self) }
    }

    private mutating func integer() -> Int64? {
        try? StrictJSON.integer(in: document, at: &index)
    }

    /// A field that may be null, which reads as absent: `.some(nil)` for null, `.some(value)`
    /// when `read` accepts the value, nil when it does not.
    private mutating func optional<Value>(_ read: (inout StateScanner) -> Value?) -> Value?? {
        if index + 4 <= bytes.count, Self.equal(UnsafeBufferPointer(rebasing: bytes[index..<index + 4]), "null") {
            index += 4
            return .some(nil)
        }
        return read(&self).map { .some($0) }
    }
}
