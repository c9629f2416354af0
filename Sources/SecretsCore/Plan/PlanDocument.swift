import Foundation
import SecretsModel

/// The JSON shape of a plan, field for field as docs/plan-json.md describes it.
struct PlanDocument: Codable {
    /// Every field a plan document may hold.
    static let shape = JSONShape.object([
        "format": .scalar, "format_version": .scalar, "tool_version": .scalar, "created_at": .scalar,
        "complete": .scalar, "refresh": .scalar, "unmanaged": .array(.scalar),
        "protection": .array(.object(["address": .scalar, "protect": .scalar])),
        "expiring": .array(.object(["address": .scalar, "expires_at": .scalar, "days_left": .scalar])),
        "manifest": .object(["path": .scalar, "sha256": .scalar, "folder": .scalar]),
        "state": .object(["path": .scalar, "lineage": .scalar, "serial": .scalar, "mode": .scalar]),
        "summary": .object([
            "create": .scalar, "replace": .scalar, "delete": .scalar, "unknown": .scalar, "unchanged": .scalar,
            "protection": .scalar,
        ]),
        "changes": .array(
            .object([
                "action": .scalar, "address": .scalar, "account": .scalar,
                "scope": .object(["type": .scalar, "user": .scalar]), "name": .scalar, "reason": .scalar,
                "detail": .scalar, "source": .object(["env": .scalar, "file": .scalar, "trim_newline": .scalar]),
                "fingerprint_before": .scalar, "fingerprint_after": .scalar, "expires_at_before": .scalar,
                "expires_at_after": .scalar, "remote_id": .scalar,
                "in_stripe": .object(["id": .scalar, "fingerprint": .scalar, "expires_at": .scalar]),
            ])),
        "unchanged": .array(.scalar),
    ])

    struct ManifestInfo: Codable {
        var path: String
        var sha256: String
        /// Absent in plans written before it was recorded.
        var folder: String?
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

    struct Summary: Codable, Equatable {
        var create: Int
        var replace: Int
        var delete: Int
        var unknown: Int
        var unchanged: Int
        /// Absent in plans written before protection existed.
        var protection: Int?
    }

    struct Protection: Codable {
        var address: String
        var protect: Bool
    }

    struct Expiring: Codable {
        var address: String
        var expiresAt: Int64
        var daysLeft: Int64
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

    struct Observed: Codable {
        var id: String
        var fingerprint: Fingerprint?
        var expiresAt: Int64?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(fingerprint, forKey: .fingerprint)
            try container.encode(expiresAt, forKey: .expiresAt)
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
        /// Absent in plans written before refreshes existed.
        var inStripe: Observed?

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
            try container.encode(inStripe, forKey: .inStripe)
        }
    }

    var format: String
    var formatVersion: Int
    var toolVersion: String
    var createdAt: String
    var complete: Bool
    /// `offline`, `secrets` or `values`; absent in plans written before refreshes existed, like
    /// `unmanaged`.
    var refresh: String?
    var unmanaged: [String]?
    /// Absent in plans written before protection existed.
    var protection: [Protection]?
    /// Absent in plans written before expiry warnings existed.
    var expiring: [Expiring]?
    var manifest: ManifestInfo
    var state: StateInfo
    var summary: Summary
    var changes: [Change]
    var unchanged: [String]

    /// The document of `saved` for `JSONEncoder`: only the tests' oracle for `PlanDocumentWriter`.
    init(_ saved: SavedPlan) {
        let plan = saved.plan
        format = SavedPlan.format
        formatVersion = SavedPlan.formatVersion
        toolVersion = saved.toolVersion
        createdAt = Timestamp.format(saved.createdAt)
        complete = plan.isComplete
        refresh = plan.refresh?.rawValue ?? Self.offline
        unmanaged = plan.unmanaged.map(\.description)
        protection = plan.protection.map { Protection(address: $0.address.description, protect: $0.protect) }
        expiring = plan.expiring.map {
            Expiring(
                address: $0.address.description, expiresAt: $0.expiresAt, daysLeft: $0.daysLeft(from: saved.createdAt))
        }
        manifest = ManifestInfo(path: saved.manifestPath, sha256: saved.manifestDigest, folder: saved.folder)
        state = StateInfo(path: saved.statePath, lineage: saved.lineage, serial: saved.serial, mode: saved.mode)
        summary = Summary(
            create: plan.count(.create), replace: plan.count(.replace), delete: plan.count(.delete),
            unknown: plan.count(.unknown), unchanged: plan.unchanged.count, protection: plan.protection.count)
        changes = plan.changes.map(Change.init)
        unchanged = plan.unchanged.map(\.description)
    }

    /// The plan this document describes; `path` names it in errors.
    func savedPlan(path: String) throws(DocumentError) -> SavedPlan {
        do {
            return try build()
        } catch let error as VersionedDocument.Detail {
            throw DocumentError(.plan, path: path, .corrupt(error.text))
        } catch {
            throw DocumentError(.plan, path: path, .corrupt(JSONCoding.describe(error)))
        }
    }

    static let offline = "offline"

    private func build() throws -> SavedPlan {
        let refresh: Plan.Refresh?
        switch self.refresh {
        case nil, Self.offline: refresh = nil
        case let level?:
            guard let known = Plan.Refresh(rawValue: level) else {
                throw VersionedDocument.Detail(text: "refresh is not offline, secrets or values")
            }
            refresh = known
        }
        guard let created = Timestamp.parseStored(createdAt) else {
            throw VersionedDocument.Detail(text: "created_at is not an RFC 3339 time in the years 1 to 9999")
        }
        let unchangedAddresses = try Self.addresses(unchanged)
        let unmanagedAddresses = try Self.addresses(unmanaged ?? [])
        guard refresh != nil || unmanagedAddresses.isEmpty else {
            throw VersionedDocument.Detail(text: "unmanaged secrets are listed, but the plan was not refreshed")
        }
        guard (0...State.maxSerial).contains(state.serial), State.isValidLineage(state.lineage) else {
            throw VersionedDocument.Detail(text: "the state's lineage or serial is invalid")
        }
        // Paths are printed and opened: no line break, escape sequence or NUL may hide in them.
        for (field, path) in [("manifest.path", manifest.path), ("state.path", state.path)]
            + (manifest.folder.map { [("manifest.folder", $0)] } ?? [])
        where path.isEmpty
            || path.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        {
            throw VersionedDocument.Detail(text: "\(field) is empty or holds a control character")
        }
        let planned = try changes.map { try $0.change(refreshed: refresh != nil) }
        let protected = try (protection ?? []).map { entry in
            guard let address = SecretAddress(validating: entry.address) else {
                throw VersionedDocument.Detail(text: "'\(TerminalText.safe(entry.address))' is not a secret address")
            }
            return Plan.ProtectionChange(address: address, protect: entry.protect)
        }
        // A protection is recorded on a secret the plan keeps, once.
        let kept = Set(planned.filter { $0.action != .delete }.map(\.address) + unchangedAddresses)
        guard Set(protected.map(\.address)).count == protected.count,
            protected.allSatisfy({ kept.contains($0.address) })
        else {
            throw VersionedDocument.Detail(text: "a protection is listed twice, or for a secret the plan does not keep")
        }
        var seen = Set<SecretAddress>()
        for address in planned.map(\.address) + unchangedAddresses + unmanagedAddresses
        where !seen.insert(address).inserted {
            throw VersionedDocument.Detail(text: "\(address) is listed twice")
        }
        // What tools read instead of the changes (a CI gate on summary.delete) must agree with them.
        let counted = Summary(
            create: planned.count { $0.action == .create }, replace: planned.count { $0.action == .replace },
            delete: planned.count { $0.action == .delete }, unknown: planned.count { $0.action == .unknown },
            unchanged: unchangedAddresses.count, protection: summary.protection == nil ? nil : protected.count)
        guard summary == counted, complete == !planned.contains(where: { $0.action == .unknown }) else {
            throw VersionedDocument.Detail(text: "summary or complete does not agree with the changes")
        }
        let warnings = try (expiring ?? []).map { entry in
            guard let address = SecretAddress(validating: entry.address), Timestamp.isInRange(entry.expiresAt) else {
                throw VersionedDocument.Detail(text: "an expiry warning names no secret, or no time")
            }
            let warning = Plan.ExpiryWarning(address: address, expiresAt: entry.expiresAt)
            guard warning.daysLeft(from: created) == entry.daysLeft else {
                throw VersionedDocument.Detail(text: "the days left before \(address) expires do not add up")
            }
            return warning
        }
        var plan = Plan(
            changes: planned.sorted { $0.address < $1.address }, unchanged: unchangedAddresses.sorted(),
            refresh: refresh, unmanaged: unmanagedAddresses.sorted(),
            protection: protected.sorted { $0.address < $1.address })
        plan.expiring = warnings.sorted { $0.address < $1.address }
        return SavedPlan(
            toolVersion: toolVersion, createdAt: created, manifestPath: manifest.path, folder: manifest.folder,
            manifestDigest: manifest.sha256,
            statePath: state.path, lineage: state.lineage, serial: state.serial, mode: state.mode, plan: plan)
    }

    private static func addresses(_ texts: [String]) throws -> [SecretAddress] {
        try texts.map { text in
            guard let address = SecretAddress(validating: text) else {
                throw VersionedDocument.Detail(text: "'\(TerminalText.safe(text))' is not a secret address")
            }
            return address
        }
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
        reason = change.reason.code
        if case .unresolved(let message) = change.reason { detail = message } else { detail = nil }
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
        inStripe = change.inStripe.map {
            PlanDocument.Observed(id: $0.id, fingerprint: $0.fingerprint, expiresAt: $0.expiresAt)
        }
    }

    /// The change this entry describes, checked to hang together; `refreshed` says whether the
    /// plan looked at Stripe (only then may a change say what Stripe holds).
    func change(refreshed: Bool) throws -> Plan.Change {
        guard let parsed = SecretAddress(validating: address) else {
            throw VersionedDocument.Detail(text: "'\(TerminalText.safe(address))' is not a valid secret address")
        }
        // The address in parts, for readers that look at them, must be the address.
        guard name.hasSameBytes(as: parsed.name), account.hasSameBytes(as: parsed.account),
            scope.type == (parsed.scope.user == nil ? "account" : "user"),
            scope.user.hasSameBytes(as: parsed.scope.user)
        else {
            throw VersionedDocument.Detail(text: "the name, scope or account of \(parsed) are not its address's")
        }
        if let remoteId, !SecretAddress.isStripeID(remoteId, prefix: "appsecret_") {
            throw VersionedDocument.Detail(text: "the remote_id of \(parsed) is not an appsecret_ id")
        }
        let reason: Plan.Reason
        switch self.reason {
        case "new": reason = .new
        case "expired":
            guard let before = expiresAtBefore else {
                throw VersionedDocument.Detail(text: "\(address) expired, but when is missing")
            }
            reason = .expired(at: before)
        case "value_changed": reason = .valueChanged
        case "expiry_changed": reason = .expiryChanged
        case "value_and_expiry_changed": reason = .valueAndExpiryChanged
        case "removed_from_manifest": reason = .removedFromManifest
        case "unresolved": reason = .unresolved(detail ?? "")
        case "missing_in_stripe": reason = .missingInStripe
        case "changed_in_stripe": reason = .changedInStripe
        case "expiry_changed_in_stripe": reason = .expiryChangedInStripe
        case "untracked_in_stripe": reason = .untrackedInStripe
        case "value_unknown_since_import": reason = .valueUnknownSinceImport
        case "gone_from_stripe": reason = .goneFromStripe
        default: throw VersionedDocument.Detail(text: "unknown reason '\(self.reason)' for \(address)")
        }
        let valueSource: ValueSource?
        switch (source?.env, source?.file) {
        case (let variable?, nil): valueSource = .environment(variable)
        case (nil, let path?): valueSource = .file(path: path, trimNewline: source?.trimNewline ?? true)
        case (nil, nil): valueSource = nil
        default: throw VersionedDocument.Detail(text: "the source of \(address) has both env and file")
        }
        let observed = try inStripe.map { seen in
            guard SecretAddress.isStripeID(seen.id, prefix: "appsecret_"), Timestamp.isInRange(seen.expiresAt) else {
                throw VersionedDocument.Detail(text: "what the plan saw in Stripe at \(address) is not a secret")
            }
            return Plan.Observed(id: seen.id, fingerprint: seen.fingerprint, expiresAt: seen.expiresAt)
        }
        let writes = fingerprintAfter != nil && valueSource != nil
        let recorded = fingerprintBefore != nil || expiresAtBefore != nil || remoteId != nil
        let consistent: Bool
        switch (action, reason) {
        case (.create, .new): consistent = writes && !recorded && observed == nil
        case (.create, .expired): consistent = writes
        case (.create, .missingInStripe): consistent = writes && remoteId != nil && observed == nil
        case (.replace, .valueChanged), (.replace, .expiryChanged), (.replace, .valueAndExpiryChanged):
            consistent = writes && fingerprintBefore != nil
        case (.replace, .changedInStripe):
            consistent =
                writes && fingerprintBefore != nil && observed?.fingerprint != nil
                && observed?.fingerprint != fingerprintBefore
        case (.replace, .expiryChangedInStripe):
            consistent = writes && remoteId != nil && observed != nil && observed?.expiresAt != expiresAtBefore
        case (.replace, .untrackedInStripe): consistent = writes && !recorded && observed != nil
        case (.replace, .valueUnknownSinceImport): consistent = writes && remoteId != nil && fingerprintBefore == nil
        case (.delete, .removedFromManifest): consistent = fingerprintAfter == nil && valueSource == nil
        case (.delete, .goneFromStripe):
            consistent = fingerprintAfter == nil && valueSource == nil && observed == nil && refreshed
        case (.unknown, .unresolved): consistent = fingerprintAfter == nil && valueSource != nil
        default: consistent = false
        }
        guard consistent, refreshed || (observed == nil && !reason.needsRefresh), Timestamp.isInRange(expiresAtBefore),
            Timestamp.isInRange(expiresAtAfter)
        else {
            throw VersionedDocument.Detail(
                text: "the change to \(address) does not hang together (\(action.rawValue), \(self.reason))")
        }
        return Plan.Change(
            action: action, address: parsed, reason: reason, source: valueSource,
            fingerprintBefore: fingerprintBefore, fingerprintAfter: fingerprintAfter,
            expiresBefore: expiresAtBefore, expiresAfter: expiresAtAfter, remoteID: remoteId, inStripe: observed)
    }
}

extension Plan.Reason {
    /// Whether only a plan that looked at Stripe can give this reason.
    var needsRefresh: Bool {
        switch self {
        case .missingInStripe, .changedInStripe, .expiryChangedInStripe, .untrackedInStripe, .goneFromStripe: true
        default: false
        }
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
