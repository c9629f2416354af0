import SecretsModel

/// A plan's delete of a secret the state records as protected: refused, whatever removed it.
public struct ProtectedDeletion: Equatable, Sendable, CustomStringConvertible {
    public let address: SecretAddress
    /// The serial of the state write that recorded the protection.
    public let protectedSince: Int
    /// Where the manifest now declares a secret of the same name, when it looks moved or renamed.
    public let movedTo: SecretAddress?
    public let manifestPath: String

    /// What is refused, why, and the two ways out.
    public var description: String {
        let why =
            movedTo.map { "it moved to \($0) in \(TerminalText.safe(manifestPath)), which leaves this one to delete" }
            ?? "its entry is gone from \(TerminalText.safe(manifestPath)), or now names another address"
        return "\(address) is protected (protect: true, applied at serial \(protectedSince)), but this plan would "
            + "delete it (\(why)).\n"
            + "       To delete it: set `protect: false` on it, apply, then remove it. To stop managing it without "
            + "deleting it: stripe-secrets state rm \(address)"
    }
}

extension Plan {
    /// The deletes of this plan that `state` forbids, sorted by address. A plan with any is
    /// refused before any call. `manifestPath` names the manifest in messages.
    public func protectedDeletions(in state: State, manifestPath: String) -> [ProtectedDeletion] {
        changes.compactMap { change in
            guard change.action == .delete, let since = state.secrets[change.address]?.protectedSince else {
                return nil
            }
            let moved =
                changes.first { $0.action != .delete && $0.address.name.hasSameBytes(as: change.address.name) }?
                .address ?? unchanged.first { $0.name.hasSameBytes(as: change.address.name) }
            return ProtectedDeletion(
                address: change.address, protectedSince: since, movedTo: moved, manifestPath: manifestPath)
        }
    }
}

extension Plan {
    /// Why this plan must not be saved or applied against `state`: protected secrets it would
    /// delete, and scopes it would overfill. Empty when it may.
    public func refusals(in state: State, manifestPath: String) -> [String] {
        protectedDeletions(in: state, manifestPath: manifestPath).map(\.description)
            + overfullScopes.map(\.description)
    }
}
