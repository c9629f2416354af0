import SecretsCore
import SecretsModel
import StateStorage
import StripeAPI

/// The two Secret Store calls an apply makes: `SecretStoreClient`, or a stub in tests.
public protocol SecretWriting: Sendable {
    /// Creates or replaces the secret; returns what Stripe holds now.
    func upsert(
        name: String, scope: SecretScope, account: String?, payload: SecretValue, expiresAt: Int64?,
        idempotencyKey: String
    ) async throws(StripeError) -> SecretObject

    /// Deletes the secret: true when deleted, false when it was already gone.
    func delete(name: String, scope: SecretScope, account: String?, idempotencyKey: String)
        async throws(StripeError) -> Bool
}

extension SecretStoreClient: SecretWriting {}

/// Why one change did not go through.
public struct ChangeFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// Stripe's request id, when Stripe answered.
    public let requestID: String?
    /// The key was refused, or the journal cannot be written: the remaining changes are not
    /// attempted.
    public var stopsTheRun = false
    /// What the changes left unattempted say, when not `not attempted: <this description>`.
    public var notAttemptedReason: String?
    /// Stripe gave no answer, after every retry (or stopped answering other calls): the run
    /// stops, and a rerun once it answers finishes the job.
    public var isOutage = false
    /// False for a change never sent because the run had stopped.
    public var wasAttempted = true
}

/// One finished change, as it happened.
public struct ApplyEvent: Sendable {
    public let change: Plan.Change
    /// Stripe's id of a created or replaced secret; nil for deletes.
    public let result: Result<String?, ChangeFailure>
    /// A delete of a secret that was already gone.
    public let wasAlreadyGone: Bool
    public let duration: Duration
}

/// Carries out a plan's changes through the Stripe API: deletes first (so a full scope has room),
/// then creates and replaces, at most `parallelism` at a time. Each completed call is written to
/// the journal before the next event is reported, so a crash loses nothing that Stripe did.
public struct Applier: Sendable {
    public let client: any SecretWriting
    public let journal: any JournalWriter
    /// This run's journal header: its run id is part of every idempotency key.
    public let header: JournalHeader
    /// The state's key, which authenticates each journal entry.
    public let key: FingerprintKey
    public let parallelism: Int
    public let now: @Sendable () -> Int64

    public init(
        client: any SecretWriting, journal: any JournalWriter, header: JournalHeader, key: FingerprintKey,
        parallelism: Int, now: @escaping @Sendable () -> Int64
    ) {
        self.client = client
        self.journal = journal
        self.header = header
        self.key = key
        self.parallelism = max(1, parallelism)
        self.now = now
    }

    /// Runs the creates, replaces and deletes of `changes` (creates and replaces need their value
    /// in `values`) and reports each as it finishes. A refused key (401, 403), or an API that
    /// gives no answer after every retry, stops the run: no new change starts, those in flight
    /// finish or fail, and what was not attempted is reported as failed. Returns every event, in
    /// the order reported.
    public func run(
        _ changes: [Plan.Change], values: [SecretAddress: SecretValue], onEvent: (ApplyEvent) -> Void
    ) async -> [ApplyEvent] {
        var events: [ApplyEvent] = []
        var stopped: ChangeFailure?
        let deletes = changes.filter { $0.action == .delete }
        let writes = changes.filter { $0.action == .create || $0.action == .replace }
        for phase in [deletes, writes] {
            await withTaskGroup(of: ApplyEvent.self) { group in
                var pending = phase.makeIterator()
                for _ in 0..<parallelism {
                    guard stopped == nil, let change = pending.next() else { break }
                    group.addTask { await perform(change, value: values[change.address]) }
                }
                for await event in group {
                    events.append(event)
                    onEvent(event)
                    if case .failure(let failure) = event.result, failure.stopsTheRun { stopped = failure }
                    if stopped == nil, let change = pending.next() {
                        group.addTask { await perform(change, value: values[change.address]) }
                    }
                }
            }
        }
        // Changes never attempted after the key was refused are failures too, so counts add up.
        if let stopped {
            let done = Set(events.map(\.change.address))
            for change in changes where !done.contains(change.address) {
                let skipped = ChangeFailure(
                    description: stopped.notAttemptedReason ?? "not attempted: \(stopped.description)", requestID: nil,
                    wasAttempted: false)
                let event = ApplyEvent(
                    change: change, result: .failure(skipped), wasAlreadyGone: false, duration: .zero)
                events.append(event)
                onEvent(event)
            }
        }
        return events
    }

    /// The `Idempotency-Key` of a change: derived from the run (its id, and the state's lineage
    /// and serial), the action, the address, the planned fingerprint and expiry. A retry within
    /// the run reuses it, as Stripe intends; another run never does, so a state restored from a
    /// backup can never be answered from Stripe's idempotency cache with an older call's result.
    public static func idempotencyKey(for change: Plan.Change, run header: JournalHeader) -> String {
        let material = [
            header.run, header.lineage, String(header.serial), change.action.rawValue, change.address.description,
            change.fingerprintAfter?.hex ?? "-", change.expiresAfter.map { String($0) } ?? "-",
        ].joined(separator: "\n")
        return "stripe-secrets-" + SHA256Digest.hex(of: Array(material.utf8)).prefix(48)
    }

    private func perform(_ change: Plan.Change, value: SecretValue?) async -> ApplyEvent {
        let clock = ContinuousClock()
        let start = clock.now
        let key = Self.idempotencyKey(for: change, run: header)
        let address = change.address
        var alreadyGone = false
        let result: Result<String?, ChangeFailure>
        do {
            if change.action == .delete {
                alreadyGone = try await !client.delete(
                    name: address.name, scope: address.scope, account: address.account, idempotencyKey: key)
                result = await record(change, id: nil)
            } else if let value {
                let secret = try await client.upsert(
                    name: address.name, scope: address.scope, account: address.account, payload: value,
                    expiresAt: change.expiresAfter, idempotencyKey: key)
                result = await record(change, id: secret.id)
            } else {
                result = .failure(ChangeFailure(description: "its value was not read", requestID: nil))
            }
        } catch {
            result = .failure(
                ChangeFailure(
                    description: error.description, requestID: error.requestID,
                    stopsTheRun: error.isAuthenticationFailure || error.isUnreachable,
                    notAttemptedReason: error.isUnreachable
                        ? "not attempted: Stripe could not be reached; a rerun finishes the job" : nil,
                    isOutage: error.isUnreachable))
        }
        return ApplyEvent(change: change, result: result, wasAlreadyGone: alreadyGone, duration: clock.now - start)
    }

    /// Makes a completed call durable before it is reported. A journal that cannot be written
    /// stops the run: nothing more is done that could not be recorded.
    private func record(_ change: Plan.Change, id: String?) async -> Result<String?, ChangeFailure> {
        let entry = header.entry(for: change, id: id, at: now(), key: key)
        do {
            try await journal.append(entry)
            CrashPoint.journalAppended.reach()
            return .success(id)
        } catch {
            return .failure(
                ChangeFailure(
                    description:
                        "done in Stripe, but it could not be recorded (\(error)); the next plan will repeat it",
                    requestID: nil, stopsTheRun: true,
                    notAttemptedReason: "not attempted: stopped because a completed call could not be recorded"))
        }
    }
}
