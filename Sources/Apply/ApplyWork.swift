import SecretsCore
import SecretsModel

/// What an apply will do: the changes, the values they send, and how many secrets already match.
public struct ApplyWork: Sendable {
    public let changes: [Plan.Change]
    public let values: [SecretAddress: SecretValue]
    public let unchangedCount: Int

    public init(changes: [Plan.Change], values: [SecretAddress: SecretValue], unchangedCount: Int) {
        self.changes = changes
        self.values = values
        self.unchangedCount = unchangedCount
    }

    /// A plan made now: its changes with the values just read.
    public init(plan: Plan, resolved: [ValueResolution]) {
        var values: [SecretAddress: SecretValue] = [:]
        for resolution in resolved {
            if case .success(let value) = resolution.result { values[resolution.declaration.address] = value }
        }
        self.init(changes: plan.changes, values: values, unchangedCount: plan.unchanged.count)
    }

    /// A saved plan, checked against the state and the values as they are now: refused when
    /// the state moved on, the manifest changed, or a value no longer has its planned
    /// fingerprint. `planFile` names the plan in messages.
    public init(reviewing saved: SavedPlan, planFile: String, state: State, environment: Environment)
        throws(ApplyRefusal)
    {
        guard saved.lineage == state.lineage else {
            throw ApplyRefusal(
                "\(planFile) was made for another state than \(saved.statePath) (lineage differs). Plan again.")
        }
        guard saved.serial == state.serial else {
            throw ApplyRefusal(
                "\(planFile) is stale: \(saved.statePath) moved from serial \(saved.serial) to \(state.serial) since it was planned.\n"
                    + "       Plan again: stripe-secrets plan --out \(planFile)")
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
        let resolver = ValueResolver(
            environment: environment, directory: ManifestLoader.directory(of: saved.manifestPath))
        var values: [SecretAddress: SecretValue] = [:]
        for change in saved.plan.changes where change.action == .create || change.action == .replace {
            guard let source = change.source, let planned = change.fingerprintAfter else { continue }
            switch resolver.resolve(source) {
            case .failure(let problem):
                throw ApplyRefusal("cannot read the value of \(change.address): \(problem.message)")
            case .success(let value):
                guard state.fingerprintKey.fingerprint(of: value, at: change.address) == planned else {
                    throw ApplyRefusal(
                        "the value of \(change.address) changed since \(planFile) was made\n"
                            + "       (\(source)). Plan again to review the new change.")
                }
                values[change.address] = value
            }
        }
        self.init(changes: saved.plan.changes, values: values, unchangedCount: saved.plan.unchanged.count)
    }
}

/// Why an apply did not start; nothing was sent to Stripe.
public struct ApplyRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
