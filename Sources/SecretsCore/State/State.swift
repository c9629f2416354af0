import Foundation
import SecretsModel

/// The record of what was applied: one per manifest (or per environment).
///
/// Nothing in it is a secret value. `fingerprintKey` makes fingerprints unguessable to anyone
/// without the state file; see docs/state.md for what the file does and does not reveal.
public struct State: Equatable, Sendable {
    public static let formatVersion = 1
    /// Serials beyond this are refused as corrupt (they could not be bumped safely).
    public static let maxSerial = 1 << 53

    /// Random, fixed when the state is created: tells two states apart even at equal serials.
    public let lineage: String
    /// Bumped on every write.
    public var serial: Int
    /// Set by the first apply; a key of the other mode is refused from then on.
    public var mode: StripeMode?
    public let fingerprintKey: FingerprintKey
    /// True when the key is kept apart from the state: its document records only the key's
    /// identifier, and every reader must be given the key.
    public let keyIsKeptApart: Bool
    /// By address.
    public private(set) var secrets: [SecretAddress: Entry]

    /// One applied secret.
    public struct Entry: Equatable, Sendable {
        /// Stripe's id for it (`appsecret_…`).
        public var id: String
        /// Nil for a secret imported without reading its value: whether it matches is unknown.
        public var fingerprint: Fingerprint?
        /// Unix seconds, or nil when it does not expire.
        public var expiresAt: Int64?
        /// Unix seconds.
        public var appliedAt: Int64
        /// The serial of the state write that recorded `protect: true`; nil when unprotected.
        /// No plan may delete a protected secret.
        public var protectedSince: Int?

        public init(
            id: String, fingerprint: Fingerprint?, expiresAt: Int64?, appliedAt: Int64, protectedSince: Int? = nil
        ) {
            self.id = id
            self.fingerprint = fingerprint
            self.expiresAt = expiresAt
            self.appliedAt = appliedAt
            self.protectedSince = protectedSince
        }
    }

    /// A lineage as the tool makes them (a UUID), or any 1 to 64 ASCII letters, digits and `-`.
    public static func isValidLineage(_ lineage: String) -> Bool {
        (1...64).contains(lineage.utf8.count)
            && lineage.utf8.allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 45
            }
    }

    /// A new, empty state with a fresh lineage: with `keptApartKey` when given, else with a key
    /// of its own.
    public init(keptApartKey: FingerprintKey? = nil) {
        self.init(
            lineage: UUID().uuidString.lowercased(), serial: 0, mode: nil,
            fingerprintKey: keptApartKey ?? FingerprintKey(), keyIsKeptApart: keptApartKey != nil, secrets: [:])
    }

    public init(
        lineage: String, serial: Int, mode: StripeMode?, fingerprintKey: FingerprintKey,
        keyIsKeptApart: Bool = false, secrets: [SecretAddress: Entry]
    ) {
        self.lineage = lineage
        self.serial = serial
        self.mode = mode
        self.fingerprintKey = fingerprintKey
        self.keyIsKeptApart = keyIsKeptApart
        self.secrets = secrets
    }

    /// This state with every fingerprint made again under `key` from `values` (by address), kept
    /// apart or not. Entries without a fingerprint keep none; every other entry needs its value.
    public func rekeyed(to key: FingerprintKey, keptApart: Bool, values: [SecretAddress: SecretValue]) -> State {
        var moved = State(
            lineage: lineage, serial: serial, mode: mode, fingerprintKey: key, keyIsKeptApart: keptApart,
            secrets: secrets)
        for (address, entry) in secrets {
            var changed = entry
            changed.fingerprint =
                entry.fingerprint == nil ? nil : values[address].map { key.fingerprint(of: $0, at: address) }
            moved.secrets[address] = changed
        }
        return moved
    }

    /// Records that Stripe carried out `change`: a create or replace now exists as `remoteID`
    /// with the planned fingerprint and expiry (and keeps its protection); a delete is gone.
    /// Unknown changes are never applied and change nothing.
    public mutating func record(_ change: Plan.Change, remoteID: String, at time: Int64) {
        switch change.action {
        case .create, .replace:
            guard let fingerprint = change.fingerprintAfter else { return }
            secrets[change.address] = Entry(
                id: remoteID, fingerprint: fingerprint, expiresAt: change.expiresAfter, appliedAt: time,
                protectedSince: secrets[change.address]?.protectedSince)
        case .delete:
            secrets.removeValue(forKey: change.address)
        case .unknown:
            break
        }
    }

    /// Records that `address` now exists in Stripe as `entry`.
    public mutating func record(_ entry: Entry, at address: SecretAddress) {
        secrets[address] = entry
    }

    /// Records each protection of `changes` on the secrets the state holds, as of `serial` (the
    /// serial this state is about to be saved at); returns how many it changed.
    @discardableResult
    public mutating func record(_ changes: [Plan.ProtectionChange], serial: Int) -> Int {
        var changed = 0
        for change in changes {
            guard var entry = secrets[change.address], (entry.protectedSince != nil) != change.protect else { continue }
            entry.protectedSince = change.protect ? serial : nil
            secrets[change.address] = entry
            changed += 1
        }
        return changed
    }

    /// Forgets `address`; returns whether it was there.
    @discardableResult
    public mutating func forget(_ address: SecretAddress) -> Bool {
        secrets.removeValue(forKey: address) != nil
    }
}
