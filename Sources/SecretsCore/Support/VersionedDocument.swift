import Foundation
import SecretsModel

/// Why one of our JSON documents (a state, a plan) could not be used. Such a document is never
/// overwritten: each of these stops the command.
public struct DocumentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which kind of document it was read as.
    public enum Kind: String, Sendable {
        case state, plan
    }

    public enum Problem: Equatable, Sendable {
        case unreadable(String)
        /// Not a document of this kind (another format, not JSON, not a file).
        case notThisKind
        /// A document of the other kind: a state read as a plan, or a plan as a state.
        case otherKind
        /// Written by a newer stripe-secrets.
        case futureVersion(Int)
        case corrupt(String)
        /// A state whose fingerprint key is kept apart was read without that key (`given` nil),
        /// or with another one (`given` names where it came from).
        case keyNeeded(given: String?)
        /// A state that stores its own fingerprint key, read while a key kept apart is given
        /// (`given` names where it came from).
        case keyStored(given: String)
    }

    /// Where such a document is kept: its own file, or a row of a database table.
    public enum Place: Sendable {
        case file, database
    }

    public let kind: Kind
    /// The file, or where in a database the document lives.
    public let path: String
    public let problem: Problem
    /// Where it is kept, which decides the advice; set by the backend that read it.
    public var place = Place.file

    public init(_ kind: Kind, path: String, _ problem: Problem) {
        self.kind = kind
        self.path = path
        self.problem = problem
    }

    public var description: String {
        switch (problem, kind) {
        case (.unreadable(let reason), _):
            "\(path) cannot be read: \(reason)"
        case (.notThisKind, .state) where place == .database:
            "\(path) does not hold a stripe-secrets state document; check --state and --workspace"
        case (.notThisKind, .state):
            "\(path) is not a stripe-secrets state file; pass the right one with --state PATH"
        case (.notThisKind, .plan):
            "\(path) is not a stripe-secrets plan file"
        case (.otherKind, .plan):
            "\(path) is a stripe-secrets state, not a plan; see what it records with stripe-secrets state list "
                + "--state \(path), or make a plan with stripe-secrets plan --out plan.json"
        case (.otherKind, .state):
            "\(path) is a stripe-secrets plan, not a state; apply it with stripe-secrets apply \(path), or pass the "
                + "state with --state PATH"
        case (.futureVersion(let version), _):
            "\(path) has format version \(version), written by a newer stripe-secrets; this one reads version "
                + "\(kind == .state ? State.formatVersion : SavedPlan.formatVersion). Upgrade stripe-secrets"
        case (.corrupt(let detail), .state) where place == .database:
            "\(path) is corrupt (\(detail)); it was left untouched. The previous version, if any, is in the "
                + "previous_document column of stripe_secrets.states"
        case (.corrupt(let detail), .state):
            "\(path) is corrupt (\(detail)); it was left untouched. The previous version, if any, is in \(path).backup"
        case (.corrupt(let detail), .plan):
            "\(path) is corrupt (\(detail)); make a new plan"
        case (.keyNeeded(nil), _):
            "\(path) keeps its fingerprint key apart; set STRIPE_SECRETS_FINGERPRINT_KEY (or pass "
                + "--fingerprint-key-file PATH) to the key it was made with. Without it, no value can be compared"
        case (.keyNeeded(let given?), _):
            "the fingerprint key from \(given) is not the one \(path) was made with; give that key, or move the "
                + "state to this one with stripe-secrets state rekey (which needs the old key too)"
        case (.keyStored(let given), _):
            "\(path) stores its own fingerprint key, but \(given) gives one kept apart, so its fingerprints would "
                + "be made with a key anyone who can read the state knows. Restore the state if it was edited, or move "
                + "it to the kept-apart key with stripe-secrets state rekey"
        }
    }
}

/// The reader both documents share: the bytes of a file, then the format name and version
/// checked before the body is decoded, so that a newer or foreign file is named as such rather
/// than reported as corrupt.
enum VersionedDocument {
    /// The file's bytes (at most 256 MiB), or nil when it does not exist.
    static func read(_ path: String, as kind: DocumentError.Kind) throws(DocumentError) -> [UInt8]? {
        do {
            return try FileReader.contents(of: path, maxBytes: 256 << 20)
        } catch {
            switch error {
            case .notFound: return nil
            case .isDirectory, .notRegularFile: throw DocumentError(kind, path: path, .notThisKind)
            case .tooLarge(let size):
                throw DocumentError(kind, path: path, .unreadable("\(size.grouped) bytes is too large"))
            case .unreadable(let reason): throw DocumentError(kind, path: path, .unreadable(reason))
            }
        }
    }

    /// Decodes `bytes` as `Body` once their `format` is `format`, their `format_version` at
    /// most `version`, and they pass `StrictJSON`'s checks against `shape`. Errors thrown by
    /// `Body`'s decoding as `Detail` keep their text.
    static func decode<Body: Decodable>(
        _ body: Body.Type, from bytes: [UInt8], format: String, version: Int, shape: JSONShape,
        kind: DocumentError.Kind, path: String
    ) throws(DocumentError) -> Body {
        if isBlank(bytes) { throw DocumentError(kind, path: path, .corrupt("it is empty")) }
        let data = Data(bytes)
        let header: FormatHeader
        do {
            header = try JSONCoding.decoder.decode(FormatHeader.self, from: data)
        } catch {
            if bytes.first(where: { !" \n\r\t".utf8.contains($0) }) == UInt8(ascii: "{") {
                throw DocumentError(kind, path: path, .corrupt(JSONCoding.describe(error)))
            }
            throw DocumentError(kind, path: path, .notThisKind)
        }
        guard header.format == format else {
            let other = [StateDocument.format, SavedPlan.format].contains(header.format)
            throw DocumentError(kind, path: path, other ? .otherKind : .notThisKind)
        }
        guard let found = header.formatVersion, found >= 1 else {
            throw DocumentError(kind, path: path, .corrupt("format_version is missing or not a positive number"))
        }
        guard found <= version else { throw DocumentError(kind, path: path, .futureVersion(found)) }
        do {
            try StrictJSON.check(bytes, shape: shape)
        } catch {
            throw DocumentError(kind, path: path, .corrupt(error.description))
        }
        do {
            return try JSONCoding.decoder.decode(Body.self, from: data)
        } catch let error as Detail {
            throw DocumentError(kind, path: path, .corrupt(error.text))
        } catch {
            throw DocumentError(kind, path: path, .corrupt(JSONCoding.describe(error)))
        }
    }

    /// A problem found in a well-formed document (a bad address, an inconsistent change).
    struct Detail: Error {
        let text: String
    }

    /// True when the bytes hold nothing but white space or NULs (a file cut short).
    static func isBlank(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 == 0 || $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }

    /// The first fields of each of our documents, read before anything else; either is nil
    /// when missing or of another type (a number out of range, a string), for the checks above
    /// to name.
    private struct FormatHeader: Decodable {
        var format: String?
        var formatVersion: Int?

        private enum CodingKeys: String, CodingKey {
            case format, formatVersion
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            format = try? container.decodeIfPresent(String.self, forKey: .format)
            formatVersion = try? container.decodeIfPresent(Int.self, forKey: .formatVersion)
        }
    }
}
