import Foundation
import SecretsCore
import SecretsModel

/// One change an apply is about to make, as its journal's header lists it.
public struct JournalCall: Codable, Equatable, Sendable {
    public let action: Plan.Action
    public let address: String
    public let fingerprint: Fingerprint?
    public let expiresAt: Int64?

    public init(_ change: Plan.Change) {
        action = change.action
        address = change.address.description
        fingerprint = change.fingerprintAfter
        expiresAt = change.expiresAfter
    }

    var parts: [String] {
        [action.rawValue, address, fingerprint?.hex ?? "", expiresAt.map { String($0) } ?? ""]
    }
}

/// The first record of an apply's journal: which state the calls are made against, which calls
/// the run may record, and a code that only a holder of the state's key can compute.
public struct JournalHeader: Codable, Equatable, Sendable {
    public let lineage: String
    public let serial: Int
    public let mode: StripeMode?
    /// Random, one per apply run: part of every idempotency key and of every entry's code.
    public let run: String
    /// The changes this run may record; an entry for anything else is refused.
    public let calls: [JournalCall]
    /// HMAC-SHA256, with the state's fingerprint key, of everything above.
    public let code: String

    /// The header of a new run that will make `changes` against the state `lineage` at `serial`.
    public init(
        lineage: String, serial: Int, mode: StripeMode?, changes: [Plan.Change], key: FingerprintKey,
        run: String = Self.newRun()
    ) {
        self.lineage = lineage
        self.serial = serial
        self.mode = mode
        self.run = run
        calls = changes.map(JournalCall.init)
        code = key.authenticationCode(of: Self.parts(lineage, serial, mode, run, calls))
    }

    /// 32 random hex digits.
    public static func newRun() -> String {
        (0..<2).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16).leftPadded(to: 16) }.joined()
    }

    private static func parts(
        _ lineage: String, _ serial: Int, _ mode: StripeMode?, _ run: String, _ calls: [JournalCall]
    ) -> [String] {
        ["stripe-secrets journal header", lineage, String(serial), mode?.rawValue ?? "", run] + calls.flatMap(\.parts)
    }

    func isAuthentic(key: FingerprintKey) -> Bool {
        code == key.authenticationCode(of: Self.parts(lineage, serial, mode, run, calls))
    }

    /// The entry recording that `change` completed, `id` being Stripe's id for a create or
    /// replace, authenticated for this run.
    public func entry(for change: Plan.Change, id: String?, at time: Int64, key: FingerprintKey) -> JournalEntry {
        JournalEntry(
            action: change.action, address: change.address.description, id: id, fingerprint: change.fingerprintAfter,
            expiresAt: change.expiresAfter, appliedAt: time, run: run, key: key)
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
    /// HMAC-SHA256, with the state's key, of the run and everything above.
    public let code: String

    init(
        action: Plan.Action, address: String, id: String?, fingerprint: Fingerprint?, expiresAt: Int64?,
        appliedAt: Int64, run: String, key: FingerprintKey
    ) {
        self.action = action
        self.address = address
        self.id = id
        self.fingerprint = fingerprint
        self.expiresAt = expiresAt
        self.appliedAt = appliedAt
        code = key.authenticationCode(
            of: Self.parts(action, address, id, fingerprint, expiresAt, appliedAt, run: run))
    }

    private static func parts(
        _ action: Plan.Action, _ address: String, _ id: String?, _ fingerprint: Fingerprint?, _ expiresAt: Int64?,
        _ appliedAt: Int64, run: String
    ) -> [String] {
        [
            "stripe-secrets journal entry", run, action.rawValue, address, id ?? "", fingerprint?.hex ?? "",
            expiresAt.map { String($0) } ?? "", String(appliedAt),
        ]
    }

    func isAuthentic(key: FingerprintKey, run: String) -> Bool {
        code == key.authenticationCode(of: Self.parts(action, address, id, fingerprint, expiresAt, appliedAt, run: run))
    }

    /// Whether this records one of the calls the header lists, as listed.
    func matches(_ call: JournalCall) -> Bool {
        call.action == action && call.address == address && call.fingerprint == fingerprint
            && call.expiresAt == expiresAt
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}

/// Why an apply's journal was not folded into its state. It is always left in place.
public struct JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// A record that is not an entry (other than a last line cut short by a crash).
        case damaged
        /// Made against another lineage or serial than the state's.
        case foreign
        /// Another apply's journal, running or interrupted.
        case exists
        /// A symbolic link or special file where the journal would be.
        case notAFile
        /// Not written by an apply of this state: a code does not verify with the state's key,
        /// or an entry records a call its run did not plan.
        case unauthenticated
    }

    public let problem: Problem
    public let place: JournalPlace

    public init(_ problem: Problem, _ place: JournalPlace) {
        self.problem = problem
        self.place = place
    }

    public var description: String {
        let (journal, state, setAside) = (place.journal, place.state, place.setAside)
        return switch problem {
        case .damaged:
            "\(journal), the record of an interrupted apply, has a damaged entry; check the secrets it lists "
                + "in Stripe against stripe-secrets state list, then set it aside (\(setAside))"
        case .foreign:
            "\(journal) does not belong to \(state) as it is now (another lineage or serial); it was left "
                + "in place. Once you have checked that its calls are in the state, set it aside (\(setAside))"
        case .exists:
            "\(journal) belongs to another apply, running or interrupted; it was left in place"
        case .notAFile:
            "\(journal) is a symbolic link or a special file, not a journal; it was left in place. Remove it"
        case .unauthenticated:
            "\(journal) was not written by an apply of \(state) (its records do not verify with the state's "
                + "key); it was left in place and nothing in it was applied. Set it aside (\(setAside)) and run "
                + "the command again"
        }
    }
}

/// Where a journal is, for messages: its name, its state's, and how to set it aside.
public struct JournalPlace: Equatable, Sendable {
    public let journal: String
    public let state: String
    public let setAside: String

    public init(journal: String, state: String, setAside: String) {
        self.journal = journal
        self.state = state
        self.setAside = setAside
    }
}

/// A journal as read back: its header and the calls recorded after it.
struct JournalRecord: Sendable {
    let header: JournalHeader
    let entries: [JournalEntry]

    /// What a journal means for the saved `state`.
    enum Verdict: Equatable {
        /// Made against this state as saved: fold it in and save with serial + 1.
        case pending
        /// Nothing to fold: no call completed, or the calls are already in the saved state (a crash
        /// after the save, before the journal's removal). Removed without a write.
        case nothingToFold
        /// Another lineage or serial: refused, never dropped.
        case foreign
        /// Not written by an apply of this state: refused, never dropped, never folded.
        case unauthenticated
    }

    func verdict(against state: State?) -> Verdict {
        guard let state, header.lineage == state.lineage else { return .foreign }
        let key = state.fingerprintKey
        guard header.isAuthentic(key: key),
            entries.allSatisfy({ entry in
                entry.isAuthentic(key: key, run: header.run) && header.calls.contains(where: entry.matches)
            })
        else { return .unauthenticated }
        switch header.serial {
        case state.serial: return entries.isEmpty ? .nothingToFold : .pending
        case state.serial - 1: return .nothingToFold
        default: return .foreign
        }
    }

    /// Every field a header may hold.
    static let headerShape = JSONShape.object([
        "lineage": .scalar, "serial": .scalar, "mode": .scalar, "run": .scalar, "code": .scalar,
        "calls": .array(
            .object(["action": .scalar, "address": .scalar, "fingerprint": .scalar, "expires_at": .scalar])),
    ])

    /// Every field an entry may hold.
    static let entryShape = JSONShape.object([
        "action": .scalar, "address": .scalar, "id": .scalar, "fingerprint": .scalar, "expires_at": .scalar,
        "applied_at": .scalar, "code": .scalar,
    ])

    /// A journal from its records' JSON, as either backend stores them; `place` names it in
    /// errors. Each record is checked strictly (no key twice, no unknown field) before decoding.
    static func decode(header: [UInt8], entries: [[UInt8]], place: JournalPlace) throws(JournalError) -> JournalRecord {
        func read<Record: Decodable>(_ type: Record.Type, _ bytes: [UInt8], _ shape: JSONShape) throws(JournalError)
            -> Record
        {
            do {
                try StrictJSON.check(bytes, shape: shape)
                return try JSONCoding.decoder.decode(Record.self, from: Data(bytes))
            } catch {
                throw JournalError(.damaged, place)
            }
        }
        let header = try read(JournalHeader.self, header, headerShape)
        var decoded: [JournalEntry] = []
        for entry in entries { decoded.append(try read(JournalEntry.self, entry, entryShape)) }
        return JournalRecord(header: header, entries: decoded)
    }
}

extension State {
    /// Folds a journal's completed calls in; a secret created or replaced keeps its protection
    /// (the serial is left to whoever saves the result).
    mutating func fold(_ journal: JournalRecord) {
        for entry in journal.entries {
            guard let address = SecretAddress(entry.address) else { continue }
            switch entry.action {
            case .create, .replace:
                guard let id = entry.id, let fingerprint = entry.fingerprint else { continue }
                record(
                    Entry(
                        id: id, fingerprint: fingerprint, expiresAt: entry.expiresAt, appliedAt: entry.appliedAt,
                        protectedSince: secrets[address]?.protectedSince),
                    at: address)
            case .delete:
                forget(address)
            case .unknown:
                break
            }
        }
        if mode == nil { mode = journal.header.mode }
    }

    /// This state with `journal` folded in, if the journal is pending on it and authentic.
    func folding(_ journal: JournalRecord?) -> State {
        guard let journal, journal.verdict(against: self) == .pending else { return self }
        var folded = self
        folded.fold(journal)
        return folded
    }
}
