import SecretsCore
import SecretsModel

/// The first record of an apply's journal: which state the calls were made against.
public struct JournalHeader: Codable, Equatable, Sendable {
    public let lineage: String
    public let serial: Int
    public let mode: StripeMode?

    public init(lineage: String, serial: Int, mode: StripeMode?) {
        self.lineage = lineage
        self.serial = serial
        self.mode = mode
    }
}

/// One call an apply completed, recorded before the apply goes on.
public struct JournalEntry: Codable, Equatable, Sendable {
    public let action: Plan.Action
    public let address: String
    public let id: String?
    public let fingerprint: Fingerprint?
    public let expiresAt: Int64?
    public let appliedAt: Int64

    public init(
        action: Plan.Action, address: SecretAddress, id: String?, fingerprint: Fingerprint?, expiresAt: Int64?,
        appliedAt: Int64
    ) {
        self.action = action
        self.address = address.description
        self.id = id
        self.fingerprint = fingerprint
        self.expiresAt = expiresAt
        self.appliedAt = appliedAt
    }
}

/// Why an apply's journal was not folded into its state. It is always left in place.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A record that is not an entry (other than a last line cut short by a crash).
    case damaged(journal: String)
    /// Made against another lineage or serial than the state's.
    case foreign(journal: String, state: String)
    /// Another apply's journal, running or interrupted.
    case exists(journal: String)

    public var description: String {
        switch self {
        case .damaged(let journal):
            "\(journal), the record of an interrupted apply, has a damaged entry; set it aside, and check "
                + "the secrets it lists in Stripe against stripe-secrets state list"
        case .foreign(let journal, let state):
            "\(journal) does not belong to \(state) as it is now (another lineage or serial); it was left "
                + "in place. Set it aside once you have checked that its calls are in the state"
        case .exists(let journal):
            "\(journal) belongs to another apply, running or interrupted; it was left in place"
        }
    }
}

/// A journal as read back: its header and the calls recorded after it.
struct JournalRecord: Sendable {
    let header: JournalHeader
    let entries: [JournalEntry]

    /// What a journal means for the saved `state`.
    enum Verdict {
        /// Made against this state as saved: fold it in and save with serial + 1.
        case pending
        /// Nothing to fold: no call completed, or the calls are already in the saved state (a crash
        /// after the save, before the journal's removal). Removed without a write.
        case nothingToFold
        /// Another lineage or serial: refused, never dropped.
        case foreign
    }

    func verdict(against state: State?) -> Verdict {
        guard let state, header.lineage == state.lineage else { return .foreign }
        switch header.serial {
        case state.serial: return entries.isEmpty ? .nothingToFold : .pending
        case state.serial - 1: return .nothingToFold
        default: return .foreign
        }
    }
}

extension State {
    /// Folds a journal's completed calls in (the serial is left to whoever saves the result).
    mutating func fold(_ journal: JournalRecord) {
        for entry in journal.entries {
            guard let address = SecretAddress(entry.address) else { continue }
            switch entry.action {
            case .create, .replace:
                guard let id = entry.id, let fingerprint = entry.fingerprint else { continue }
                record(
                    Entry(id: id, fingerprint: fingerprint, expiresAt: entry.expiresAt, appliedAt: entry.appliedAt),
                    at: address)
            case .delete:
                forget(address)
            case .unknown:
                break
            }
        }
        if mode == nil { mode = journal.header.mode }
    }

    /// This state with `journal` folded in, if the journal is pending on it.
    func folding(_ journal: JournalRecord?) -> State {
        guard let journal, journal.verdict(against: self) == .pending else { return self }
        var folded = self
        folded.fold(journal)
        return folded
    }
}
