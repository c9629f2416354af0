import Foundation
import SecretsModel

/// The state's JSON form, the same in every backend: versioned, sorted and stable, so that it
/// diffs well and moves between backends byte for byte.
public enum StateDocument {
    static let format = "stripe-secrets-state"

    /// Every field a state document may hold.
    static let shape = JSONShape.object([
        "format": .scalar, "format_version": .scalar, "lineage": .scalar, "serial": .scalar, "mode": .scalar,
        "fingerprint_key": .scalar, "fingerprint_key_id": .scalar,
        "secrets": .array(
            .object([
                "address": .scalar, "id": .scalar, "fingerprint": .scalar, "expires_at": .scalar, "applied_at": .scalar,
                "protected_since": .scalar,
            ])),
    ])

    private struct Document: Codable {
        var format: String
        var formatVersion: Int
        var lineage: String
        var serial: Int
        var mode: StripeMode?
        /// The key itself, or (kept apart) only its identifier: one of the two.
        var fingerprintKey: String?
        var fingerprintKeyId: String?
        var secrets: [Record]
    }

    private struct Record: Codable {
        var address: String
        var id: String
        /// Absent for a secret imported without reading its value.
        var fingerprint: Fingerprint?
        var expiresAt: Int64?
        var appliedAt: String
        /// Present only for a protected secret.
        var protectedSince: Int?
    }

    /// What a document holds besides its entries, as read: checked by `key(for:path:keptApart:)`.
    struct Header {
        var lineage: String
        var serial: Int
        var mode: StripeMode?
        var fingerprintKey: String?
        var fingerprintKeyId: String?

        /// The state with this header, its key and its entries.
        func state(key: FingerprintKey, secrets: [SecretAddress: State.Entry]) -> State {
            State(
                lineage: lineage, serial: serial, mode: mode, fingerprintKey: key,
                keyIsKeptApart: fingerprintKeyId != nil, secrets: secrets)
        }
    }

    /// The document of `state`: pretty, keys sorted, secrets sorted by address, absent fields left out.
    public static func encode(_ state: State) -> [UInt8] {
        encode(state, fastPath: true)
    }

    /// `encode`, with `JSONWriter` (`fastPath`) or with `JSONEncoder` only: the tests compare the two.
    static func encode(_ state: State, fastPath: Bool) -> [UInt8] {
        guard fastPath else { return encodedByFoundation(state) }
        var json = JSONWriter()
        json.object { json in
            if state.keyIsKeptApart {
                json.member("fingerprint_key_id", state.fingerprintKey.identifier)
            } else {
                json.member("fingerprint_key", state.fingerprintKey.base64)
            }
            json.member("format", format)
            json.member("format_version", State.formatVersion)
            json.member("lineage", state.lineage)
            if let mode = state.mode { json.member("mode", mode.rawValue) }
            json.key("secrets")
            json.array(state.secrets.sorted { $0.key < $1.key }) { json, secret in
                let entry = secret.value
                json.object { json in
                    json.key("address")
                    json.string(secret.key)
                    json.member("applied_at", Timestamp.format(entry.appliedAt))
                    if let expiresAt = entry.expiresAt { json.member("expires_at", expiresAt) }
                    if let fingerprint = entry.fingerprint { json.member("fingerprint", fingerprint.hex) }
                    json.member("id", entry.id)
                    if let since = entry.protectedSince { json.member("protected_since", since) }
                }
            }
            json.member("serial", state.serial)
        }
        json.finish()
        return json.bytes
    }

    private static func encodedByFoundation(_ state: State) -> [UInt8] {
        let records = state.secrets.sorted { $0.key < $1.key }.map { address, entry in
            Record(
                address: address.description, id: entry.id, fingerprint: entry.fingerprint,
                expiresAt: entry.expiresAt, appliedAt: Timestamp.format(entry.appliedAt),
                protectedSince: entry.protectedSince)
        }
        let document = Document(
            format: format, formatVersion: State.formatVersion, lineage: state.lineage, serial: state.serial,
            mode: state.mode, fingerprintKey: state.keyIsKeptApart ? nil : state.fingerprintKey.base64,
            fingerprintKeyId: state.keyIsKeptApart ? state.fingerprintKey.identifier : nil, secrets: records)
        // Strings and integers always encode; a failure here would be a bug, not bad input.
        guard let bytes = try? JSONCoding.encodeDocument(document) else { preconditionFailure("state did not encode") }
        return bytes
    }

    /// A kept-apart key, and where it came from (for messages).
    public struct KeptApartKey: Sendable {
        public let key: FingerprintKey
        public let origin: String
        /// Whether a state that stores its own key may be read all the same: only for `state
        /// rekey`, which moves such a state to this key.
        public var readsStoredKeys = false

        public init(_ key: FingerprintKey, origin: String) {
            self.key = key
            self.origin = origin
        }
    }

    /// Reads a state document; `path` names it in errors. A state that keeps its key apart
    /// needs `keptApart`, and refuses another key. Given `keptApart`, a state that stores its own
    /// key is refused (unless `readsStoredKeys`): an edited state must not swap in a key its
    /// editor knows, which would make every value's fingerprint a guess to test.
    public static func decode(_ bytes: [UInt8], path: String, keptApart: KeptApartKey? = nil) throws(DocumentError)
        -> State
    {
        try decode(bytes, path: path, keptApart: keptApart, fastPath: true)
    }

    /// `decode`, with the one-pass reader (`fastPath`, which leaves to `JSONDecoder` only what
    /// it refuses) or with `JSONDecoder` only: the tests compare the two.
    static func decode(_ bytes: [UInt8], path: String, keptApart: KeptApartKey?, fastPath: Bool)
        throws(DocumentError) -> State
    {
        if fastPath, let (header, secrets) = StateScanner.read(bytes) {
            return header.state(key: try key(for: header, path: path, keptApart: keptApart), secrets: secrets)
        }
        let document = try VersionedDocument.decode(
            Document.self, from: bytes, format: format, version: State.formatVersion, shape: shape, kind: .state,
            path: path)
        func corrupt(_ detail: String) -> DocumentError { DocumentError(.state, path: path, .corrupt(detail)) }
        let header = Header(
            lineage: document.lineage, serial: document.serial, mode: document.mode,
            fingerprintKey: document.fingerprintKey, fingerprintKeyId: document.fingerprintKeyId)
        let key = try key(for: header, path: path, keptApart: keptApart)
        var secrets: [SecretAddress: State.Entry] = [:]
        secrets.reserveCapacity(document.secrets.count)
        for record in document.secrets {
            guard let address = SecretAddress(validating: record.address) else {
                throw corrupt("'\(record.address)' is not a valid secret address")
            }
            guard let appliedAt = Timestamp.parseStored(record.appliedAt) else {
                throw corrupt("applied_at of \(address) is not an RFC 3339 time in the years 1 to 9999")
            }
            guard Timestamp.isInRange(record.expiresAt), SecretAddress.isStripeID(record.id, prefix: "appsecret_")
            else {
                throw corrupt("expires_at or id of \(address) is invalid")
            }
            let entry = State.Entry(
                id: record.id, fingerprint: record.fingerprint, expiresAt: record.expiresAt, appliedAt: appliedAt,
                protectedSince: record.protectedSince)
            guard secrets.updateValue(entry, forKey: address) == nil else {
                throw corrupt("\(address) is listed twice")
            }
            if let since = record.protectedSince, !(0...document.serial).contains(since) {
                throw corrupt("protected_since of \(address) is not a serial of this state")
            }
        }
        return header.state(key: key, secrets: secrets)
    }

    /// The fingerprint key `header` calls for (its own, or the kept-apart one it names), once its
    /// lineage and serial are checked too.
    private static func key(for header: Header, path: String, keptApart: KeptApartKey?) throws(DocumentError)
        -> FingerprintKey
    {
        func corrupt(_ detail: String) -> DocumentError { DocumentError(.state, path: path, .corrupt(detail)) }
        let key: FingerprintKey
        switch (header.fingerprintKey, header.fingerprintKeyId) {
        case (let text?, nil):
            if let keptApart, !keptApart.readsStoredKeys {
                throw DocumentError(.state, path: path, .keyStored(given: keptApart.origin))
            }
            guard let own = FingerprintKey(base64: text) else {
                throw corrupt("fingerprint_key is not 32 bytes of base64")
            }
            key = own
        case (nil, let identifier?):
            guard let keptApart else { throw DocumentError(.state, path: path, .keyNeeded(given: nil)) }
            guard keptApart.key.identifier == identifier else {
                throw DocumentError(.state, path: path, .keyNeeded(given: keptApart.origin))
            }
            key = keptApart.key
        default: throw corrupt("it needs exactly one of fingerprint_key and fingerprint_key_id")
        }
        guard State.isValidLineage(header.lineage) else {
            throw corrupt("lineage is not 1 to 64 letters, digits and '-'")
        }
        guard (0...State.maxSerial).contains(header.serial) else { throw corrupt("serial is out of range") }
        return key
    }

    /// The state document in the file at `path`; nil when there is no file.
    public static func read(_ path: String, keptApart: KeptApartKey? = nil) throws(DocumentError) -> State? {
        guard let bytes = try VersionedDocument.read(path, as: .state) else { return nil }
        return try decode(bytes, path: path, keptApart: keptApart)
    }
}
