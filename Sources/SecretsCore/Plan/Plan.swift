import SecretsModel

/// What it takes to make Stripe match the manifest: a plain value, made by `Planner`, shown by
/// the views and saved as a plan file. It holds fingerprints, never values.
public struct Plan: Equatable, Sendable {
    public enum Action: String, Codable, Sendable {
        case create, replace, delete
        /// The value could not be read (`plan --allow-unresolved`): shown, never applied.
        case unknown
    }

    /// Why a change is needed.
    public enum Reason: Equatable, Sendable {
        /// Not in the state.
        case new
        /// In the state, but its expiry (unix seconds) has passed, so Stripe has deleted it.
        case expired(at: Int64)
        case valueChanged
        case expiryChanged
        case valueAndExpiryChanged
        /// In the state, not in the manifest.
        case removedFromManifest
        /// The value's source could not be read; the message says why.
        case unresolved(String)
        /// In the state, but Stripe no longer holds it (refreshed plans).
        case missingInStripe
        /// Stripe's value is not the one the state records (`plan --refresh-values`).
        case changedInStripe
        /// Stripe's expiry is not the one the state records (refreshed plans).
        case expiryChangedInStripe
        /// In Stripe but not in the state: applying overwrites it (refreshed plans).
        case untrackedInStripe
        /// Imported without reading its value, so whether it matches is unknown.
        case valueUnknownSinceImport
        /// In the state, not in the manifest, and already gone from Stripe: only the state changes.
        case goneFromStripe
    }

    /// How far a plan looked at Stripe.
    public enum Refresh: String, Codable, Sendable {
        /// Listed the managed scopes (`plan --refresh`).
        case secrets
        /// Listed them and read each managed value (`plan --refresh-values`).
        case values
    }

    /// A secret as a refreshed plan saw it in Stripe. Holds the fingerprint of its value, read
    /// with the state's key, never the value.
    public struct Observed: Equatable, Sendable {
        public let id: String
        /// Nil when the value was not read.
        public let fingerprint: Fingerprint?
        public let expiresAt: Int64?

        public init(id: String, fingerprint: Fingerprint?, expiresAt: Int64?) {
            self.id = id
            self.fingerprint = fingerprint
            self.expiresAt = expiresAt
        }
    }

    /// One planned change to one secret.
    public struct Change: Equatable, Sendable {
        public let action: Action
        public let address: SecretAddress
        public let reason: Reason
        /// Where the new value comes from (nil for deletes).
        public let source: ValueSource?
        /// The fingerprint in the state (nil when absent).
        public let fingerprintBefore: Fingerprint?
        /// The planned value's fingerprint (nil for deletes and unknowns).
        public let fingerprintAfter: Fingerprint?
        public let expiresBefore: Int64?
        public let expiresAfter: Int64?
        /// Stripe's id from the state, when there is one.
        public let remoteID: String?
        /// What a refreshed plan found in Stripe at this address (nil: not refreshed, or absent).
        public let inStripe: Observed?

        public init(
            action: Action, address: SecretAddress, reason: Reason, source: ValueSource?,
            fingerprintBefore: Fingerprint?, fingerprintAfter: Fingerprint?,
            expiresBefore: Int64?, expiresAfter: Int64?, remoteID: String?, inStripe: Observed? = nil
        ) {
            self.action = action
            self.address = address
            self.reason = reason
            self.source = source
            self.fingerprintBefore = fingerprintBefore
            self.fingerprintAfter = fingerprintAfter
            self.expiresBefore = expiresBefore
            self.expiresAfter = expiresAfter
            self.remoteID = remoteID
            self.inStripe = inStripe
        }
    }

    /// A secret whose protection the state must record: `protect: true` newly set, or released.
    /// State only: no call to Stripe.
    public struct ProtectionChange: Equatable, Sendable {
        public let address: SecretAddress
        public let protect: Bool

        public init(address: SecretAddress, protect: Bool) {
            self.address = address
            self.protect = protect
        }
    }

    /// A managed secret that Stripe deletes soon: within the warning horizon of `plan`.
    public struct ExpiryWarning: Equatable, Sendable {
        public let address: SecretAddress
        /// Unix seconds: the manifest's, or Stripe's for a refreshed plan.
        public let expiresAt: Int64

        public init(address: SecretAddress, expiresAt: Int64) {
            self.address = address
            self.expiresAt = expiresAt
        }

        /// Whole days from `now` to the expiry.
        public func daysLeft(from now: Int64) -> Int64 {
            max(0, expiresAt - now) / 86_400
        }
    }

    /// Sorted by address.
    public let changes: [Change]
    /// Secrets that already match, sorted.
    public let unchanged: [SecretAddress]
    /// How far the plan looked at Stripe; nil for an offline plan.
    public let refresh: Refresh?
    /// Secrets a refreshed plan found in the managed scopes that neither the manifest nor the
    /// state manages: reported, never touched. Sorted.
    public let unmanaged: [SecretAddress]
    /// Protections to record or release once the changes are applied, sorted.
    public let protection: [ProtectionChange]
    /// Secrets that expire soon, sorted by address; a warning, never a change.
    public var expiring: [ExpiryWarning] = []

    public init(
        changes: [Change], unchanged: [SecretAddress], refresh: Refresh? = nil, unmanaged: [SecretAddress] = [],
        protection: [ProtectionChange] = []
    ) {
        self.changes = changes
        self.unchanged = unchanged
        self.refresh = refresh
        self.unmanaged = unmanaged
        self.protection = protection
    }

    /// Whether `other` makes the same changes, records the same protections and leaves the
    /// same secrets unchanged (what an apply checks a saved plan by; notes on unmanaged secrets
    /// do not count).
    public func hasSameWork(as other: Plan) -> Bool {
        changes == other.changes && unchanged == other.unchanged && protection == other.protection
    }

    public func count(_ action: Action) -> Int {
        // By index, so that only each change's action is read, not the whole change copied.
        changes.indices.reduce(0) { $0 + (changes[$1].action == action ? 1 : 0) }
    }

    /// True when applying would change nothing, in Stripe or in the state's protections.
    public var isEmpty: Bool { changes.isEmpty && protection.isEmpty }

    /// False when some value is unknown: such a plan can be shown but not saved or applied.
    public var isComplete: Bool { !changes.contains { $0.action == .unknown } }
}

extension Plan.Reason {
    /// The reason as plan JSON writes it: `new`, `value_changed`, `missing_in_stripe`, ….
    public var code: String {
        switch self {
        case .new: "new"
        case .expired: "expired"
        case .valueChanged: "value_changed"
        case .expiryChanged: "expiry_changed"
        case .valueAndExpiryChanged: "value_and_expiry_changed"
        case .removedFromManifest: "removed_from_manifest"
        case .unresolved: "unresolved"
        case .missingInStripe: "missing_in_stripe"
        case .changedInStripe: "changed_in_stripe"
        case .expiryChangedInStripe: "expiry_changed_in_stripe"
        case .untrackedInStripe: "untracked_in_stripe"
        case .valueUnknownSinceImport: "value_unknown_since_import"
        case .goneFromStripe: "gone_from_stripe"
        }
    }
}
