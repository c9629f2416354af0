import SecretsCore
import SecretsModel

/// What an apply will do: the changes, the values they send, and how many secrets already match.
public struct ApplyWork: Sendable {
    public let changes: [Plan.Change]
    public let values: [SecretAddress: SecretValue]
    public let unchangedCount: Int
    /// Protections the state records once the changes are done (no call to Stripe).
    public let protection: [Plan.ProtectionChange]

    public init(
        changes: [Plan.Change], values: [SecretAddress: SecretValue], unchangedCount: Int,
        protection: [Plan.ProtectionChange] = []
    ) {
        self.changes = changes
        self.values = values
        self.unchangedCount = unchangedCount
        self.protection = protection
    }

    /// Nothing to send and nothing to record.
    public var isEmpty: Bool { changes.isEmpty && protection.isEmpty }

    /// A plan made now: its changes with the values just read (only theirs: an apply that
    /// changes a few of 10,000 secrets keeps, and hashes, only those few).
    public init(plan: Plan, resolved: [ValueResolution]) {
        let changed = Set(plan.changes.map(\.address))
        var values: [SecretAddress: SecretValue] = [:]
        for resolution in resolved where changed.contains(resolution.declaration.address) {
            if case .success(let value) = resolution.result { values[resolution.declaration.address] = value }
        }
        self.init(
            changes: plan.changes, values: values, unchangedCount: plan.unchanged.count, protection: plan.protection)
    }

    /// A saved plan, checked against what its manifest and state call for now: refused, before
    /// any request, when the state moved on, the manifest changed, a value no longer has its
    /// planned fingerprint, or the file's changes are not exactly those the manifest and state
    /// call for (a plan file is a claim to check, never an order). `planFile` names it in
    /// messages; a manifest that no longer checks throws its `DiagnosticsError`.
    ///
    /// A refreshed plan with changes is checked against Stripe too: `refreshing` lists the
    /// scopes it is given (and reads the values of the addresses, when given) as the plan did.
    public init(
        reviewing saved: SavedPlan, planFile: String, state: State, environment: Environment, now: Int64,
        refreshing: (_ scopes: [ScopeKey], _ valuesOf: Set<SecretAddress>?) async throws -> StripeView
    ) async throws {
        guard saved.lineage == state.lineage else {
            throw ApplyRefusal(
                "\(planFile) was made for another state than \(saved.statePath) (lineage differs). Plan again.")
        }
        guard saved.serial == state.serial else {
            throw ApplyRefusal(
                "\(planFile) is stale: \(saved.statePath) moved from serial \(saved.serial) to \(state.serial) since it was planned.\n"
                    + "       Plan again: stripe-secrets plan --out \(planFile)")
        }
        guard saved.mode == state.mode else {
            throw ApplyRefusal("\(planFile) was planned for another mode than the state's. Plan again.")
        }
        guard saved.plan.isComplete else {
            throw ApplyRefusal(
                "\(planFile) has unknown values and cannot be applied; plan again with every value readable")
        }
        let manifest: [UInt8]
        do {
            manifest = try FileReader.contents(of: saved.manifestPath, maxBytes: ManifestLoader.maxBytes)
        } catch {
            throw ApplyRefusal(
                error.describe(
                    saved.manifestPath, notFoundHint: "apply the plan from the folder it was made in",
                    limit: "too large for a manifest"))
        }
        guard SHA256Digest.hex(of: manifest) == saved.manifestDigest else {
            throw ApplyRefusal(
                "\(saved.manifestPath) changed since \(planFile) was made. Plan again to review the change.")
        }
        let checked = try ManifestLoader.check(
            manifest, path: saved.manifestPath, now: now, environment: environment, values: .required)
        let desired = DesiredSecret.from(checked.values, key: state.fingerprintKey)
        var stripe: StripeView?
        // Applying an empty plan changes nothing, so it needs no look at Stripe.
        if let refresh = saved.plan.refresh, !saved.plan.isEmpty {
            let view = try await refreshing(
                Planner.managedScopes(desired: desired, state: state),
                refresh == .values ? Set(desired.map(\.address)) : nil)
            if refresh == .values, view.refresh != .values {
                throw ApplyRefusal(
                    "\(planFile) was planned with --refresh-values, but this key may not read secret values, so "
                        + "what Stripe holds cannot be checked as it was planned. Apply with the key that planned it, "
                        + "or plan again with --refresh")
            }
            stripe = view
        }
        let derived = Planner.plan(desired: desired, state: state, now: now, stripe: stripe)
        if let refusal = derived.refusals(in: state, manifestPath: saved.manifestPath).first {
            throw ApplyRefusal(refusal)
        }
        if let difference = Self.difference(planned: saved.plan, derived: derived, planFile: planFile) {
            throw ApplyRefusal(difference)
        }
        self.init(plan: derived, resolved: checked.values)
    }

    /// How a saved plan differs from the plan derived now, in words; nil when they make the same
    /// changes.
    static func difference(planned: Plan, derived: Plan, planFile: String) -> String? {
        guard !planned.hasSameWork(as: derived) else { return nil }
        let now = Dictionary(derived.changes.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let then = Dictionary(planned.changes.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let sources = planned.refresh == nil ? "the manifest and state" : "the manifest, state and Stripe"
        let again = "Plan again; a plan file is checked against \(sources), never obeyed."
        for change in planned.changes {
            guard let current = now[change.address] else {
                return "\(planFile) lists a \(change.action.rawValue) of \(change.address) that \(sources) "
                    + "do not call for. \(again)"
            }
            if current.action == change.action, current.source == change.source,
                current.fingerprintAfter != change.fingerprintAfter, let source = change.source
            {
                return "the value of \(change.address) changed since \(planFile) was made\n"
                    + "       (\(source)). Plan again to review the new change."
            }
            if current != change {
                return
                    "\(planFile) plans the \(change.action.rawValue) of \(change.address) otherwise than \(sources) "
                    + "call for (now: \(current.action.rawValue), \(current.reason.code)). \(again)"
            }
        }
        for change in derived.changes where then[change.address] == nil {
            return "\(planFile) leaves out the \(change.action.rawValue) of \(change.address) that \(sources) "
                + "call for (\(change.reason.code)). \(again)"
        }
        return "\(planFile) does not list the unchanged secrets \(sources) have. \(again)"
    }
}

/// Why an apply did not start; nothing was sent to Stripe.
public struct ApplyRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
