import SecretsCore
import SecretsModel
import StateStorage
import StripeAPI

/// One apply against a locked state, from the state it starts from to the state it leaves.
///
/// The command decides what to apply (a reviewed plan or one made now) and shows progress; this
/// does the rest: it folds a journal left by a crash, runs the changes with a journal of its
/// own, and writes the result back once, even when some changes failed.
public struct ApplyRun: Sendable {
    public let locked: any LockedState
    public let client: any SecretWriting
    public let parallelism: Int
    public let now: @Sendable () -> Int64

    public init(
        locked: any LockedState, client: any SecretWriting, parallelism: Int, now: @escaping @Sendable () -> Int64
    ) {
        self.locked = locked
        self.client = client
        self.parallelism = parallelism
        self.now = now
    }

    /// The state to apply against: a journal left by an interrupted apply is folded in first.
    /// A missing state is created as `fresh` (serial 0) when given; otherwise nil is returned.
    public func startingState(creating fresh: State?) async throws -> State? {
        try await locked.recoverJournal()
        if let state = try await locked.loadSaved() { return state }
        guard let fresh else { return nil }
        try await locked.save(fresh, replacing: nil)
        return fresh
    }

    /// What an apply did: every change as it finished, and the serial the state was left at.
    public struct Outcome: Sendable {
        public let events: [ApplyEvent]
        public let serial: Int

        public var failedCount: Int {
            events.filter { if case .failure = $0.result { true } else { false } }.count
        }

        public var appliedCount: Int { events.count - failedCount }

        /// The failure that showed Stripe had stopped answering, if one stopped the run.
        public var outage: ChangeFailure? {
            events.lazy.compactMap { event -> ChangeFailure? in
                guard case .failure(let failure) = event.result, failure.isOutage else { return nil }
                return failure
            }.first
        }

        /// Changes never sent because the run had stopped.
        public var notAttemptedCount: Int {
            events.filter { if case .failure(let failure) = $0.result { !failure.wasAttempted } else { false } }.count
        }
    }

    /// Runs `work` against `state` in `mode`, journalling each completed call, then folds the
    /// journal into the state, then records the work's protections (one more write, only when
    /// one changes). Each event is passed to `onEvent` as it happens.
    public func execute(
        _ work: ApplyWork, on state: State, mode: StripeMode, onEvent: (ApplyEvent) -> Void
    ) async throws -> Outcome {
        guard state.serial < State.maxSerial - 2 else {
            throw ApplyRefusal("the state's serial has reached the maximum; nothing was sent. Start a new state")
        }
        var events: [ApplyEvent] = []
        if !work.changes.isEmpty {
            events = try await call(work, on: state, mode: mode, onEvent: onEvent)
        }
        if !work.protection.isEmpty, var current = try await locked.loadSaved() {
            let serial = current.serial + 1
            if current.record(work.protection, serial: serial) > 0 {
                current.serial = serial
                try await locked.save(current, replacing: serial - 1)
            }
        }
        let serial = try await locked.loadSaved()?.serial ?? state.serial
        return Outcome(events: events, serial: serial)
    }

    /// The calls, each journalled, and the journal folded in.
    private func call(
        _ work: ApplyWork, on state: State, mode: StripeMode, onEvent: (ApplyEvent) -> Void
    ) async throws -> [ApplyEvent] {
        let header = JournalHeader(
            lineage: state.lineage, serial: state.serial, mode: mode, changes: work.changes, key: state.fingerprintKey)
        let journal = try await locked.startJournal(header)
        let applier = Applier(
            client: client, journal: journal, header: header, key: state.fingerprintKey, parallelism: parallelism,
            now: now)
        let events = await applier.run(work.changes, values: work.values, onEvent: onEvent)
        CrashPoint.beforeFold.reach()
        try await locked.recoverJournal()
        return events
    }
}
