import SecretsModel

/// A secret as the manifest wants it, with its value reduced to a fingerprint.
public struct DesiredSecret: Sendable {
    public let address: SecretAddress
    public let source: ValueSource
    /// Unix seconds, or nil when it does not expire.
    public let expiresAt: Int64?
    /// The value as read, or why it could not be read.
    public let fingerprint: Result<Fingerprint, ValueProblem>

    public init(
        address: SecretAddress, source: ValueSource, expiresAt: Int64?, fingerprint: Result<Fingerprint, ValueProblem>
    ) {
        self.address = address
        self.source = source
        self.expiresAt = expiresAt
        self.fingerprint = fingerprint
    }

    /// The desired secrets of a checked manifest, fingerprinted with `key`. Values are used
    /// here and dropped.
    public static func from(_ values: [ValueResolution], key: FingerprintKey) -> [DesiredSecret] {
        values.map { resolution in
            let declaration = resolution.declaration
            return DesiredSecret(
                address: declaration.address, source: declaration.source, expiresAt: declaration.expiresAt,
                fingerprint: resolution.result.map { key.fingerprint(of: $0, at: declaration.address) })
        }
    }
}

/// Compares what the manifest wants with what the state records. Pure: no I/O, no clock.
public enum Planner {
    /// - Parameter now: unix seconds; a state entry whose expiry is at or before it is gone.
    public static func plan(desired: [DesiredSecret], state: State, now: Int64) -> Plan {
        var changes: [Plan.Change] = []
        var unchanged: [SecretAddress] = []
        var wanted = Set<SecretAddress>()
        for secret in desired {
            wanted.insert(secret.address)
            let entry = state.secrets[secret.address]
            if let change = change(for: secret, entry: entry, now: now) {
                changes.append(change)
            } else {
                unchanged.append(secret.address)
            }
        }
        for (address, entry) in state.secrets where !wanted.contains(address) {
            changes.append(
                Plan.Change(
                    action: .delete, address: address, reason: .removedFromManifest, source: nil,
                    fingerprintBefore: entry.fingerprint, fingerprintAfter: nil,
                    expiresBefore: entry.expiresAt, expiresAfter: nil, remoteID: entry.id))
        }
        return Plan(changes: changes.sorted { $0.address < $1.address }, unchanged: unchanged.sorted())
    }

    private static func change(for secret: DesiredSecret, entry: State.Entry?, now: Int64) -> Plan.Change? {
        func make(_ action: Plan.Action, _ reason: Plan.Reason, _ fingerprint: Fingerprint?) -> Plan.Change {
            Plan.Change(
                action: action, address: secret.address, reason: reason, source: secret.source,
                fingerprintBefore: entry?.fingerprint, fingerprintAfter: fingerprint,
                expiresBefore: entry?.expiresAt, expiresAfter: secret.expiresAt, remoteID: entry?.id)
        }
        let fingerprint: Fingerprint
        switch secret.fingerprint {
        case .failure(let problem): return make(.unknown, .unresolved(problem.message), nil)
        case .success(let value): fingerprint = value
        }
        guard let entry else { return make(.create, .new, fingerprint) }
        if let expiry = entry.expiresAt, expiry <= now { return make(.create, .expired(at: expiry), fingerprint) }
        switch (entry.fingerprint != fingerprint, entry.expiresAt != secret.expiresAt) {
        case (true, true): return make(.replace, .valueAndExpiryChanged, fingerprint)
        case (true, false): return make(.replace, .valueChanged, fingerprint)
        case (false, true): return make(.replace, .expiryChanged, fingerprint)
        case (false, false): return nil
        }
    }
}
