import Foundation

/// This build's version, recorded in plan files and printed by `--version`.
public enum ToolVersion {
    public static let current = "0.1.0"
}

/// A plan with what it was made from: the manifest (by digest) and the state (by lineage and
/// serial), so that `apply` can refuse it once either has moved on. Its JSON form is both the
/// plan file and `plan --format json` (see docs/plan-json.md). It never holds a value.
public struct SavedPlan: Equatable, Sendable {
    public static let formatVersion = 1

    public let toolVersion: String
    /// Unix seconds.
    public let createdAt: Int64
    public let manifestPath: String
    /// SHA-256 of the manifest's bytes, hex.
    public let manifestDigest: String
    public let statePath: String
    public let lineage: String
    public let serial: Int
    public let mode: StripeMode?
    public let plan: Plan

    public init(
        toolVersion: String = ToolVersion.current, createdAt: Int64, manifestPath: String, manifestDigest: String,
        statePath: String, lineage: String, serial: Int, mode: StripeMode?, plan: Plan
    ) {
        self.toolVersion = toolVersion
        self.createdAt = createdAt
        self.manifestPath = manifestPath
        self.manifestDigest = manifestDigest
        self.statePath = statePath
        self.lineage = lineage
        self.serial = serial
        self.mode = mode
        self.plan = plan
    }
}

/// Why a plan file could not be read.
public enum PlanFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notAPlanFile(path: String)
    case futureVersion(path: String, version: Int)
    case corrupt(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path) cannot be read: \(reason)"
        case .notAPlanFile(let path): "\(path) is not a stripe-secrets plan file"
        case .futureVersion(let path, let version):
            "\(path) has format version \(version), written by a newer stripe-secrets; this one reads version \(SavedPlan.formatVersion)"
        case .corrupt(let path, let detail): "\(path) is corrupt (\(detail)); make a new plan"
        }
    }
}

extension SavedPlan {
    static let format = "stripe-secrets-plan"

    /// The versioned JSON form, pretty-printed with sorted keys; absent values are `null`.
    public func encoded() -> [UInt8] {
        // Strings and integers always encode; a failure here would be a bug, not bad input.
        guard let bytes = try? JSONCoding.encodeDocument(PlanDocument(self)) else {
            preconditionFailure("plan did not encode")
        }
        return bytes
    }

    /// Reads a plan file's bytes; `path` names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(PlanFileError) -> SavedPlan {
        let data = Data(bytes)
        guard let header = try? JSONCoding.decoder.decode(FormatHeader.self, from: data), header.format == format else {
            throw .notAPlanFile(path: path)
        }
        guard let version = header.formatVersion, version >= 1 else {
            throw .corrupt(path: path, detail: "format_version is missing or not a positive number")
        }
        guard version <= formatVersion else { throw .futureVersion(path: path, version: version) }
        do {
            return try JSONCoding.decoder.decode(PlanDocument.self, from: data).savedPlan()
        } catch let error as PlanFileError.Detail {
            throw .corrupt(path: path, detail: error.text)
        } catch {
            throw .corrupt(path: path, detail: JSONCoding.describe(error))
        }
    }

    /// Reads a plan file.
    public static func load(_ path: String) throws(PlanFileError) -> SavedPlan {
        let bytes: [UInt8]
        do {
            guard let read = try DocumentRead.bytes(path) else {
                throw PlanFileError.unreadable(path: path, reason: "no such file")
            }
            bytes = read
        } catch let error as PlanFileError {
            throw error
        } catch let error as DocumentRead.FileReadProblem {
            switch error {
            case .notAFile: throw .notAPlanFile(path: path)
            case .unreadable(let reason): throw .unreadable(path: path, reason: reason)
            }
        } catch {
            throw .unreadable(path: path, reason: String(describing: error))
        }
        return try decode(bytes, path: path)
    }
}

extension PlanFileError {
    /// A problem found in a well-formed document (bad address, bad reason).
    struct Detail: Error {
        let text: String
    }
}

/// The JSON shape of a plan, field for field as docs/plan-json.md describes it.
private struct PlanDocument: Codable {
    struct ManifestInfo: Codable {
        var path: String
        var sha256: String
    }

    struct StateInfo: Codable {
        var path: String
        var lineage: String
        var serial: Int
        var mode: StripeMode?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(lineage, forKey: .lineage)
            try container.encode(serial, forKey: .serial)
            try container.encode(mode, forKey: .mode)
        }
    }

    struct Summary: Codable {
        var create: Int
        var replace: Int
        var delete: Int
        var unknown: Int
        var unchanged: Int
    }

    struct Scope: Codable {
        var type: String
        var user: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(user, forKey: .user)
        }
    }

    struct Source: Codable {
        var env: String?
        var file: String?
        var trimNewline: Bool?
    }

    struct Change: Codable {
        var action: Plan.Action
        var address: String
        var account: String?
        var scope: Scope
        var name: String
        var reason: String
        var detail: String?
        var source: Source?
        var fingerprintBefore: Fingerprint?
        var fingerprintAfter: Fingerprint?
        var expiresAtBefore: Int64?
        var expiresAtAfter: Int64?
        var remoteId: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(action, forKey: .action)
            try container.encode(address, forKey: .address)
            try container.encode(account, forKey: .account)
            try container.encode(scope, forKey: .scope)
            try container.encode(name, forKey: .name)
            try container.encode(reason, forKey: .reason)
            try container.encode(detail, forKey: .detail)
            try container.encode(source, forKey: .source)
            try container.encode(fingerprintBefore, forKey: .fingerprintBefore)
            try container.encode(fingerprintAfter, forKey: .fingerprintAfter)
            try container.encode(expiresAtBefore, forKey: .expiresAtBefore)
            try container.encode(expiresAtAfter, forKey: .expiresAtAfter)
            try container.encode(remoteId, forKey: .remoteId)
        }
    }

    var format: String
    var formatVersion: Int
    var toolVersion: String
    var createdAt: String
    var complete: Bool
    var manifest: ManifestInfo
    var state: StateInfo
    var summary: Summary
    var changes: [Change]
    var unchanged: [String]

    init(_ saved: SavedPlan) {
        let plan = saved.plan
        format = SavedPlan.format
        formatVersion = SavedPlan.formatVersion
        toolVersion = saved.toolVersion
        createdAt = Timestamp.format(saved.createdAt)
        complete = plan.isComplete
        manifest = ManifestInfo(path: saved.manifestPath, sha256: saved.manifestDigest)
        state = StateInfo(path: saved.statePath, lineage: saved.lineage, serial: saved.serial, mode: saved.mode)
        summary = Summary(
            create: plan.count(.create), replace: plan.count(.replace), delete: plan.count(.delete),
            unknown: plan.count(.unknown), unchanged: plan.unchanged.count)
        changes = plan.changes.map(Change.init)
        unchanged = plan.unchanged.map(\.description)
    }

    func savedPlan() throws -> SavedPlan {
        guard let created = Timestamp.parseRFC3339(createdAt) else {
            throw PlanFileError.Detail(text: "created_at is not an RFC 3339 time")
        }
        let unchangedAddresses = try unchanged.map { text in
            guard let address = SecretAddress(validating: text) else {
                throw PlanFileError.Detail(text: "'\(text)' is not a secret address")
            }
            return address
        }
        guard (0...State.maxSerial).contains(state.serial), !state.lineage.isEmpty else {
            throw PlanFileError.Detail(text: "the state's lineage or serial is invalid")
        }
        let planned = try changes.map { try $0.change() }
        var seen = Set<SecretAddress>()
        for address in planned.map(\.address) + unchangedAddresses where !seen.insert(address).inserted {
            throw PlanFileError.Detail(text: "\(address) is listed twice")
        }
        return SavedPlan(
            toolVersion: toolVersion, createdAt: created, manifestPath: manifest.path, manifestDigest: manifest.sha256,
            statePath: state.path, lineage: state.lineage, serial: state.serial, mode: state.mode,
            plan: Plan(changes: planned.sorted { $0.address < $1.address }, unchanged: unchangedAddresses.sorted()))
    }
}

extension PlanDocument.Change {
    init(_ change: Plan.Change) {
        let address = change.address
        action = change.action
        self.address = address.description
        account = address.account
        switch address.scope {
        case .account: scope = PlanDocument.Scope(type: "account", user: nil)
        case .user(let user): scope = PlanDocument.Scope(type: "user", user: user)
        }
        name = address.name
        (reason, detail) = Self.code(of: change.reason)
        switch change.source {
        case .environment(let variable): source = PlanDocument.Source(env: variable)
        case .file(let path, let trim): source = PlanDocument.Source(file: path, trimNewline: trim)
        case nil: source = nil
        }
        fingerprintBefore = change.fingerprintBefore
        fingerprintAfter = change.fingerprintAfter
        expiresAtBefore = change.expiresBefore
        expiresAtAfter = change.expiresAfter
        remoteId = change.remoteID
    }

    private static func code(of reason: Plan.Reason) -> (String, String?) {
        switch reason {
        case .new: ("new", nil)
        case .expired: ("expired", nil)
        case .valueChanged: ("value_changed", nil)
        case .expiryChanged: ("expiry_changed", nil)
        case .valueAndExpiryChanged: ("value_and_expiry_changed", nil)
        case .removedFromManifest: ("removed_from_manifest", nil)
        case .unresolved(let message): ("unresolved", message)
        }
    }

    func change() throws -> Plan.Change {
        guard let parsed = SecretAddress(validating: address) else {
            throw PlanFileError.Detail(text: "'\(address)' is not a valid secret address")
        }
        let reason: Plan.Reason
        switch self.reason {
        case "new": reason = .new
        case "expired":
            guard let before = expiresAtBefore else {
                throw PlanFileError.Detail(text: "\(address) expired, but when is missing")
            }
            reason = .expired(at: before)
        case "value_changed": reason = .valueChanged
        case "expiry_changed": reason = .expiryChanged
        case "value_and_expiry_changed": reason = .valueAndExpiryChanged
        case "removed_from_manifest": reason = .removedFromManifest
        case "unresolved": reason = .unresolved(detail ?? "")
        default: throw PlanFileError.Detail(text: "unknown reason '\(self.reason)' for \(address)")
        }
        let valueSource: ValueSource?
        switch (source?.env, source?.file) {
        case (let variable?, nil): valueSource = .environment(variable)
        case (nil, let path?): valueSource = .file(path: path, trimNewline: source?.trimNewline ?? true)
        case (nil, nil): valueSource = nil
        default: throw PlanFileError.Detail(text: "the source of \(address) has both env and file")
        }
        let consistent: Bool
        switch (action, reason) {
        case (.create, .new), (.create, .expired):
            consistent = fingerprintAfter != nil && valueSource != nil
        case (.replace, .valueChanged), (.replace, .expiryChanged), (.replace, .valueAndExpiryChanged):
            consistent = fingerprintAfter != nil && valueSource != nil && fingerprintBefore != nil
        case (.delete, .removedFromManifest):
            consistent = fingerprintAfter == nil && valueSource == nil
        case (.unknown, .unresolved):
            consistent = fingerprintAfter == nil && valueSource != nil
        default:
            consistent = false
        }
        guard consistent, Timestamp.isInRange(expiresAtBefore), Timestamp.isInRange(expiresAtAfter) else {
            throw PlanFileError.Detail(
                text: "the change to \(address) does not hang together (\(action.rawValue), \(self.reason))")
        }
        return Plan.Change(
            action: action, address: parsed, reason: reason, source: valueSource,
            fingerprintBefore: fingerprintBefore, fingerprintAfter: fingerprintAfter,
            expiresBefore: expiresAtBefore, expiresAfter: expiresAtAfter, remoteID: remoteId)
    }
}

extension PlanDocument.Source {
    init(env: String) {
        self.init(env: env, file: nil, trimNewline: nil)
    }

    init(file: String, trimNewline: Bool) {
        self.init(env: nil, file: file, trimNewline: trimNewline)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(env, forKey: .env)
        try container.encodeIfPresent(file, forKey: .file)
        try container.encodeIfPresent(trimNewline, forKey: .trimNewline)
    }
}
