import Foundation

/// Why a state file could not be used. Never overwritten: each of these stops the command.
public enum StateFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notAStateFile(path: String)
    case futureVersion(path: String, version: Int)
    case corrupt(path: String, detail: String)
    /// A journal with a line that is not an entry (not the last one, which a crash may cut).
    case corruptJournal(path: String)
    /// A journal that belongs to another state or serial.
    case foreignJournal(path: String, statePath: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "\(path) cannot be read: \(reason)"
        case .notAStateFile(let path):
            "\(path) is not a stripe-secrets state file; pass the right one with --state PATH"
        case .futureVersion(let path, let version):
            "\(path) has format version \(version), written by a newer stripe-secrets; this one reads version \(State.formatVersion). Upgrade stripe-secrets"
        case .corruptJournal(let path):
            "\(path), the record of an interrupted apply, has a damaged line; move it aside, and check "
                + "the secrets it lists in Stripe against stripe-secrets state list"
        case .foreignJournal(let path, let statePath):
            "\(path) does not belong to \(statePath) as it is now (another lineage or serial); it was left "
                + "in place. Move it aside once you have checked that its calls are in the state"
        case .corrupt(let path, let detail):
            "\(path) is corrupt (\(detail)); it was left untouched. The previous version, if any, is in \(path).backup"
        }
    }
}

/// The state's JSON form, the same in every backend: versioned, sorted and stable, so that it
/// diffs well and moves between backends byte for byte.
public enum StateDocument {
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

    public static func encode(_ state: State) -> [UInt8] {
        let records = state.secrets.sorted { $0.key < $1.key }.map { address, entry in
            Record(
                address: address.description, id: entry.id, fingerprint: entry.fingerprint,
                expiresAt: entry.expiresAt, appliedAt: Timestamp.format(entry.appliedAt))
        }
        let document = Document(
            format: format, formatVersion: State.formatVersion, lineage: state.lineage, serial: state.serial,
            mode: state.mode, fingerprintKey: state.fingerprintKey.base64, secrets: records)
        // Strings and integers always encode; a failure here would be a bug, not bad input.
        guard let bytes = try? JSONCoding.encodeDocument(document) else { preconditionFailure("state did not encode") }
        return bytes
    }

    /// Reads a state document; `path` names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(StateFileError) -> State {
        if DocumentRead.isBlank(bytes) { throw .corrupt(path: path, detail: "it is empty") }
        let data = Data(bytes)
        let header: FormatHeader
        do {
            header = try JSONCoding.decoder.decode(FormatHeader.self, from: data)
        } catch {
            if bytes.first(where: { !" \n\r\t".utf8.contains($0) }) == UInt8(ascii: "{") {
                throw .corrupt(path: path, detail: JSONCoding.describe(error))
            }
            throw .notAStateFile(path: path)
        }
        guard header.format == format else { throw .notAStateFile(path: path) }
        guard let version = header.formatVersion, version >= 1 else {
            throw .corrupt(path: path, detail: "format_version is missing or not a positive number")
        }
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
        guard !document.lineage.isEmpty else { throw .corrupt(path: path, detail: "lineage is empty") }
        guard (0...State.maxSerial).contains(document.serial) else {
            throw .corrupt(path: path, detail: "serial is out of range")
        }
        var secrets: [SecretAddress: State.Entry] = [:]
        for record in document.secrets {
            guard let address = SecretAddress(validating: record.address) else {
                throw .corrupt(path: path, detail: "'\(record.address)' is not a valid secret address")
            }
            guard let appliedAt = Timestamp.parseRFC3339(record.appliedAt) else {
                throw .corrupt(path: path, detail: "applied_at of \(address) is not an RFC 3339 time")
            }
            guard Timestamp.isInRange(record.expiresAt), !record.id.isEmpty else {
                throw .corrupt(path: path, detail: "expires_at or id of \(address) is invalid")
            }
            guard secrets[address] == nil else {
                throw .corrupt(path: path, detail: "\(address) is listed twice")
            }
            secrets[address] = State.Entry(
                id: record.id, fingerprint: record.fingerprint, expiresAt: record.expiresAt, appliedAt: appliedAt)
        }
        return State(
            lineage: document.lineage, serial: document.serial, mode: document.mode, fingerprintKey: key,
            secrets: secrets)
    }
}
