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

        public init(
            action: Action, address: SecretAddress, reason: Reason, source: ValueSource?,
            fingerprintBefore: Fingerprint?, fingerprintAfter: Fingerprint?,
            expiresBefore: Int64?, expiresAfter: Int64?, remoteID: String?
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
        }
    }

    /// Sorted by address.
    public let changes: [Change]
    /// Secrets that already match, sorted.
    public let unchanged: [SecretAddress]

    public init(changes: [Change], unchanged: [SecretAddress]) {
        self.changes = changes
        self.unchanged = unchanged
    }

    public func count(_ action: Action) -> Int {
        changes.lazy.filter { $0.action == action }.count
    }

    /// True when applying would change nothing in Stripe.
    public var isEmpty: Bool { changes.isEmpty }

    /// False when some value is unknown: such a plan can be shown but not saved or applied.
    public var isComplete: Bool { !changes.contains { $0.action == .unknown } }
}
