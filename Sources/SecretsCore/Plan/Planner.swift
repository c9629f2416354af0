import SecretsModel

/// A secret as the manifest wants it, with its value reduced to a fingerprint.
public struct DesiredSecret: Sendable {
    public let address: SecretAddress
    public let source: ValueSource
    /// Unix seconds, or nil when it does not expire.
    public let expiresAt: Int64?
    /// The value as read, or why it could not be read.
    public let fingerprint: Result<Fingerprint, ValueProblem>
    /// `protect: true` in the manifest.
    public let protect: Bool

    public init(
        address: SecretAddress, source: ValueSource, expiresAt: Int64?, fingerprint: Result<Fingerprint, ValueProblem>,
        protect: Bool = false
    ) {
        self.address = address
        self.source = source
        self.expiresAt = expiresAt
        self.fingerprint = fingerprint
        self.protect = protect
    }

    /// The desired secrets of a checked manifest, fingerprinted with `key`. Values are used
    /// here and dropped.
    public static func from(_ values: [ValueResolution], key: FingerprintKey) -> [DesiredSecret] {
        let fingerprinter = Fingerprinter(key)
        return values.map { resolution in
            let declaration = resolution.declaration
            return DesiredSecret(
                address: declaration.address, source: declaration.source, expiresAt: declaration.expiresAt,
                fingerprint: resolution.result.map { fingerprinter.fingerprint(of: $0, at: declaration.address) },
                protect: declaration.protect)
        }
    }
}

/// What Stripe holds in the scopes a plan manages, as a refresh listed them. Values appear only
/// as fingerprints made with the state's key.
public struct StripeView: Equatable, Sendable {
    /// How far it looked: listings only, or values too.
    public let refresh: Plan.Refresh
    /// Every secret listed in the managed scopes, by address.
    public let secrets: [SecretAddress: Plan.Observed]

    public init(refresh: Plan.Refresh, secrets: [SecretAddress: Plan.Observed]) {
        self.refresh = refresh
        self.secrets = secrets
    }
}

/// Compares what the manifest wants with what the state records and, for a refreshed plan,
/// with what Stripe holds. Pure: no I/O, no clock.
public enum Planner {
    /// The scopes a plan manages: those of the manifest's secrets and of the state's, sorted.
    public static func managedScopes(desired: [DesiredSecret], state: State) -> [ScopeKey] {
        Set(desired.map(\.address.scopeKey) + state.secrets.keys.map(\.scopeKey)).sorted()
    }

    /// - Parameters:
    ///   - desired: each address once, as a checked manifest gives them.
    ///   - now: unix seconds; a state entry whose expiry is at or before it is gone.
    ///   - stripe: what Stripe holds in every managed scope, for a refreshed plan.
    public static func plan(desired: [DesiredSecret], state: State, now: Int64, stripe: StripeView? = nil) -> Plan {
        // Sized once for what is certain: the secrets the state cannot hold are changes, and only
        // the ones it holds can be unchanged. Growing an array of 100,000 changes by doubling holds
        // the old and the new buffer at once, the largest part of a big plan's peak memory.
        var changes: [Plan.Change] = []
        changes.reserveCapacity(max(desired.count - state.secrets.count, 0))
        var unchanged: [SecretAddress] = []
        unchanged.reserveCapacity(min(desired.count, state.secrets.count))
        var protection: [Plan.ProtectionChange] = []
        // The manifest's addresses are unique, so when every state entry was matched no entry is
        // left to delete, and the set of wanted addresses is not needed.
        var matched = 0
        for secret in desired {
            let entry = state.secrets[secret.address]
            if case .some = entry { matched += 1 }
            if secret.protect != (entry?.protectedSince != nil), entry != nil || secret.protect {
                protection.append(Plan.ProtectionChange(address: secret.address, protect: secret.protect))
            }
            let seen = Seen(stripe, at: secret.address)
            if let change = change(for: secret, entry: entry, seen: seen, now: now) {
                changes.append(change)
            } else {
                unchanged.append(secret.address)
            }
        }
        let wanted = matched == state.secrets.count ? nil : Set(desired.lazy.map(\.address))
        for (address, entry) in state.secrets where wanted?.contains(address) == false {
            let seen = Seen(stripe, at: address)
            changes.append(
                Plan.Change(
                    action: .delete, address: address, reason: seen.isMissing ? .goneFromStripe : .removedFromManifest,
                    source: nil, fingerprintBefore: entry.fingerprint, fingerprintAfter: nil,
                    expiresBefore: entry.expiresAt, expiresAfter: nil, remoteID: entry.id, inStripe: seen.observed))
        }
        var unmanaged: [SecretAddress] = []
        if let stripe {
            let wanted = wanted ?? Set(desired.lazy.map(\.address))
            unmanaged = stripe.secrets.keys.filter { !wanted.contains($0) && state.secrets[$0] == nil }
        }
        return Plan(
            changes: changes.sortedByAddress(\.address), unchanged: unchanged.sortedByAddress(\.self),
            refresh: stripe?.refresh, unmanaged: unmanaged.sorted(),
            protection: protection.sortedByAddress(\.address))
    }

    /// The manifest's secrets that expire within `horizon` seconds of `now` (not after it),
    /// sorted: by Stripe's expiry for a secret a refresh found, else by the manifest's.
    public static func expiring(desired: [DesiredSecret], stripe: StripeView?, now: Int64, within horizon: Int64)
        -> [Plan.ExpiryWarning]
    {
        guard horizon > 0 else { return [] }
        return desired.compactMap { secret in
            let expiry = stripe?.secrets[secret.address].map(\.expiresAt) ?? secret.expiresAt
            guard let expiry, expiry > now, expiry - now <= horizon else { return nil }
            return Plan.ExpiryWarning(address: secret.address, expiresAt: expiry)
        }.sorted { $0.address < $1.address }
    }

    /// What a refresh saw at one address.
    private struct Seen {
        let refreshed: Bool
        let observed: Plan.Observed?

        init(_ stripe: StripeView?, at address: SecretAddress) {
            refreshed = stripe != nil
            observed = stripe?.secrets[address]
        }

        /// Refreshed, and Stripe does not hold it.
        var isMissing: Bool { refreshed && observed == nil }
    }

    private static func change(for secret: DesiredSecret, entry: State.Entry?, seen: Seen, now: Int64) -> Plan.Change? {
        func make(_ action: Plan.Action, _ reason: Plan.Reason, _ fingerprint: Fingerprint?) -> Plan.Change {
            Plan.Change(
                action: action, address: secret.address, reason: reason, source: secret.source,
                fingerprintBefore: entry?.fingerprint, fingerprintAfter: fingerprint,
                expiresBefore: entry?.expiresAt, expiresAfter: secret.expiresAt, remoteID: entry?.id,
                inStripe: seen.observed)
        }
        let fingerprint: Fingerprint
        switch secret.fingerprint {
        case .failure(let problem): return make(.unknown, .unresolved(problem.message), nil)
        case .success(let value): fingerprint = value
        }
        guard let entry else {
            return seen.observed == nil
                ? make(.create, .new, fingerprint) : make(.replace, .untrackedInStripe, fingerprint)
        }
        if let expiry = entry.expiresAt, expiry <= now { return make(.create, .expired(at: expiry), fingerprint) }
        if seen.isMissing { return make(.create, .missingInStripe, fingerprint) }
        if let observed = seen.observed {
            if let inStripe = observed.fingerprint, let recorded = entry.fingerprint, inStripe != recorded {
                return make(.replace, .changedInStripe, fingerprint)
            }
            if observed.expiresAt != entry.expiresAt { return make(.replace, .expiryChangedInStripe, fingerprint) }
        }
        guard let recorded = entry.fingerprint else { return make(.replace, .valueUnknownSinceImport, fingerprint) }
        switch (recorded != fingerprint, entry.expiresAt != secret.expiresAt) {
        case (true, true): return make(.replace, .valueAndExpiryChanged, fingerprint)
        case (true, false): return make(.replace, .valueChanged, fingerprint)
        case (false, true): return make(.replace, .expiryChanged, fingerprint)
        case (false, false): return nil
        }
    }
}

/// A scope that would hold more secrets than Stripe allows once a refreshed plan is applied.
public struct ScopeOverflow: Equatable, Sendable, CustomStringConvertible {
    public let scope: ScopeKey
    /// The manifest's secrets in it.
    public let managed: [SecretAddress]
    /// What Stripe holds there that nothing manages.
    public let unmanaged: [SecretAddress]

    /// What is in the scope, and how to make room; nothing was sent to Stripe.
    public var description: String {
        /// At most 20 names, each cut to 100 characters: a scope may list up to a thousand.
        func names(_ addresses: [SecretAddress]) -> String {
            let shown = addresses.prefix(20).map { TerminalText.safe(String($0.name.prefix(100))) }
            let more = addresses.count > 20 ? ", … and \(addresses.count - 20) more" : ""
            return shown.joined(separator: ", ") + more
        }
        return "the \(scope) scope would hold \(managed.count + unmanaged.count) secrets, more than Stripe's "
            + "\(StripeLimits.secretsPerScope): \(managed.count) from the manifest (\(names(managed))) and "
            + "\(unmanaged.count) in Stripe that it does not manage (\(names(unmanaged))).\n"
            + "       Nothing was changed in Stripe. Delete unmanaged secrets in Stripe, or move secrets to another scope"
    }
}

extension Plan {
    /// The scopes that would hold more than Stripe's 10 secrets after this plan, counting the
    /// unmanaged secrets a refresh found; empty for an offline plan.
    public var overfullScopes: [ScopeOverflow] {
        guard refresh != nil else { return [] }
        let kept = changes.filter { $0.action != .delete }.map(\.address) + unchanged
        let managed = Dictionary(grouping: kept, by: \.scopeKey)
        let others = Dictionary(grouping: unmanaged, by: \.scopeKey)
        return Set(managed.keys).union(others.keys).sorted().compactMap { scope in
            let mine = (managed[scope] ?? []).sorted(), theirs = others[scope] ?? []
            guard mine.count + theirs.count > StripeLimits.secretsPerScope else { return nil }
            return ScopeOverflow(scope: scope, managed: mine, unmanaged: theirs)
        }
    }
}

extension Array {
    /// Sorted by address; a manifest is usually written in order already, and checking that
    /// costs one comparison per element rather than a sort's many.
    fileprivate func sortedByAddress(_ address: (Element) -> SecretAddress) -> [Element] {
        let inOrder = indices.dropFirst().allSatisfy { !(address(self[$0]) < address(self[$0 - 1])) }
        return inOrder ? self : sorted { address($0) < address($1) }
    }
}
