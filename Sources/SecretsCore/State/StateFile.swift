import Foundation

/// Why a state file could not be used. Never overwritten: each of these stops the command.
public enum StateFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notAStateFile(path: String)
    case futureVersion(path: String, version: Int)
    case corrupt(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "\(path) cannot be read: \(reason)"
        case .notAStateFile(let path):
            "\(path) is not a stripe-secrets state file; pass the right one with --state PATH"
        case .futureVersion(let path, let version):
            "\(path) has format version \(version), written by a newer stripe-secrets; this one reads version \(State.formatVersion). Upgrade stripe-secrets"
        case .corrupt(let path, let detail):
            "\(path) is corrupt (\(detail)); it was left untouched. The previous version is in \(path).backup"
        }
    }
}

/// The state's JSON form: versioned, sorted and stable, so that it diffs well.
enum StateFile {
    static let format = "stripe-secrets-state"

    private struct Document: Codable {
        var format: String
        var formatVersion: Int
        var lineage: String
        var serial: Int
        var mode: StripeMode?
        var fingerprintKey: String
        var secrets: [Record]
    }

    private struct Record: Codable {
        var address: String
        var id: String
        var fingerprint: Fingerprint
        var expiresAt: Int64?
        var appliedAt: String
    }

    /// Only the fields that say what kind of file this is, read before anything else.
    private struct Header: Decodable {
        var format: String?
        var formatVersion: Int?
    }

    static func encode(_ state: State) -> [UInt8] {
        let records = state.secrets.sorted { $0.key < $1.key }.map { address, entry in
            Record(
                address: address.description, id: entry.id, fingerprint: entry.fingerprint,
                expiresAt: entry.expiresAt, appliedAt: Timestamp.format(entry.appliedAt))
        }
        let document = Document(
            format: format, formatVersion: State.formatVersion, lineage: state.lineage, serial: state.serial,
            mode: state.mode, fingerprintKey: state.fingerprintKey.base64, secrets: records)
        // Encoding plain strings and numbers cannot fail.
        return Array((try? JSONCoding.encoder.encode(document)) ?? Data()) + [UInt8(ascii: "\n")]
    }

    static func decode(_ bytes: [UInt8], path: String) throws(StateFileError) -> State {
        let data = Data(bytes)
        let header: Header
        do {
            header = try JSONCoding.decoder.decode(Header.self, from: data)
        } catch {
            if bytes.first(where: { !" \n\r\t".utf8.contains($0) }) == UInt8(ascii: "{") {
                throw .corrupt(path: path, detail: "not valid JSON")
            }
            throw .notAStateFile(path: path)
        }
        guard header.format == format else { throw .notAStateFile(path: path) }
        guard let version = header.formatVersion else { throw .corrupt(path: path, detail: "no format_version") }
        guard version <= State.formatVersion else { throw .futureVersion(path: path, version: version) }

        let document: Document
        do {
            document = try JSONCoding.decoder.decode(Document.self, from: data)
        } catch {
            throw .corrupt(path: path, detail: JSONCoding.describe(error))
        }
        guard let key = FingerprintKey(base64: document.fingerprintKey) else {
            throw .corrupt(path: path, detail: "fingerprint_key is not 32 bytes of base64")
        }
        guard document.serial >= 0 else { throw .corrupt(path: path, detail: "serial is negative") }
        var secrets: [SecretAddress: State.Entry] = [:]
        for record in document.secrets {
            guard let address = SecretAddress(record.address) else {
                throw .corrupt(path: path, detail: "'\(record.address)' is not a secret address")
            }
            guard let appliedAt = Timestamp.parseRFC3339(record.appliedAt) else {
                throw .corrupt(path: path, detail: "applied_at of \(record.address) is not an RFC 3339 time")
            }
            guard secrets[address] == nil else {
                throw .corrupt(path: path, detail: "\(record.address) is listed twice")
            }
            secrets[address] = State.Entry(
                id: record.id, fingerprint: record.fingerprint, expiresAt: record.expiresAt, appliedAt: appliedAt)
        }
        return State(
            lineage: document.lineage, serial: document.serial, mode: document.mode, fingerprintKey: key,
            secrets: secrets)
    }
}

/// The JSON settings every file of ours uses: snake_case keys, sorted, pretty, slashes unescaped.
enum JSONCoding {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// A decoding error in a few words: which field and what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "unreadable JSON" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the document" : String(keys.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return parent == "the document" ? "no \(key.stringValue)" : "no \(key.stringValue) in \(parent)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)) is invalid"
        @unknown default:
            return "unreadable JSON"
        }
    }
}
