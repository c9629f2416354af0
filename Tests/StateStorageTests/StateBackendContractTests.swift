import Foundation
import SecretsCore
import SecretsModel
import StateStorage
import Testing
import TestSupport

/// What every state backend promises, run against a file and a real PostgreSQL server alike.
@Suite struct StateBackendContractTests {
    private let address = SecretAddress(account: nil, scope: .account, name: "token")

    @Test(arguments: backendKinds())
    func aMissingStateIsNilAndTheFirstPlanCreatesAnEmptyOne(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        #expect(try await fixture.backend.load() == nil)
        let created = try await fixture.backend.loadOrCreate(lockTimeout: 0)
        #expect(created.serial == 0 && created.secrets.isEmpty && created.mode == nil)
        #expect(try await fixture.other.load() == created)
        #expect(try await fixture.other.loadOrCreate(lockTimeout: 0) == created)
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func aSavedStateReadsBackIdenticallyToItsDocument(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let state = sampleState()
        try await fixture.backend.withLock(operation: "test", timeout: 0) { try await $0.save(state, replacing: nil) }
        #expect(try await fixture.other.load() == state)
        let saved = try await fixture.other.withLock(operation: "pull", timeout: 0) { try await $0.loadSaved() }
        #expect(saved.map(StateDocument.encode) == StateDocument.encode(state))
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func aWriteBasedOnAnOldSerialIsRefusedNeverLost(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        var state = sampleState(serial: 1)
        try await fixture.backend.withLock(operation: "test", timeout: 0) { locked in
            try await locked.save(state, replacing: nil)
            state.serial = 2
            try await locked.save(state, replacing: 1)
            var stale = state
            stale.serial = 3
            stale.forget(SecretAddress(account: nil, scope: .account, name: "a"))
            await #expect(throws: StateConflictError.self) { try await locked.save(stale, replacing: 1) }
            await #expect(throws: StateConflictError.self) { try await locked.save(stale, replacing: nil) }
        }
        #expect(try await fixture.other.load() == state)
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func theLockIsExclusiveAndNamesItsHolder(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        try await fixture.backend.withLock(operation: "apply", timeout: 0) { _ throws in
            let status = try await fixture.other.lockStatus()
            #expect(status.isHeld)
            #expect(status.holder?.operation == "apply")
            await #expect {
                // Long enough that a slow first round trip still leaves a wait (`waited` true).
                try await fixture.other.withLock(operation: "plan", timeout: 2) { _ in }
            } throws: { error in
                switch error as? StateLockError {
                case .held(_, let holder?, true), .heldInDatabase(_, let holder?, _, true):
                    holder.operation == "apply" && holder.pid == getpid() && holder.host == LockHolder.hostName
                default: false
                }
            }
        }
        let after = try await fixture.other.lockStatus()
        #expect(after.isHeld == false)
        try await fixture.other.withLock(operation: "again", timeout: 0) { _ in }
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func aWaitingRunGetsTheLockOnceItIsReleased(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let clock = ContinuousClock()
        let start = clock.now
        async let holding: Void = fixture.backend.withLock(operation: "apply", timeout: 0) { _ in
            try await Task.sleep(for: .milliseconds(600))
        }
        try await Task.sleep(for: .milliseconds(150))
        // A wait far longer than the hold: with the suite's CLI tests blocking both of a 2-core
        // machine's pool threads, the holder once took over 10 s to wake from its sleep.
        try await fixture.other.withLock(operation: "plan", timeout: 120) { _ in }
        #expect(clock.now - start >= .milliseconds(550))
        try await holding
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func anInterruptedApplysJournalIsSeenByReadersAndFoldedByTheNextWriter(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let state = sampleState(serial: 3)
        let deleted = SecretAddress(account: "acct_A1", scope: .account, name: "b")
        try await fixture.backend.withLock(operation: "apply", timeout: 0) { locked in
            try await locked.save(state, replacing: nil)
            let run = journalRun(
                [
                    plannedChange(.create, at: address, key: state.fingerprintKey),
                    plannedChange(.delete, at: deleted, key: state.fingerprintKey),
                ], on: state)
            let journal = try await locked.startJournal(run.header)
            for entry in run.entries { try await journal.append(entry) }
            // The run "crashes" here: the lock goes, the journal stays.
        }
        #expect(try await fixture.other.hasJournal())
        let seen = try #require(try await fixture.other.load())
        #expect(seen.serial == 3)  // a plan made now is stale once the journal is written
        #expect(seen.secrets[address]?.id == "appsecret_new")
        #expect(seen.secrets[deleted] == nil)

        try await fixture.other.withLock(operation: "apply", timeout: 0) { try await $0.recoverJournal() }
        #expect(try await fixture.backend.hasJournal() == false)
        let folded = try #require(try await fixture.backend.load())
        #expect(folded.serial == 4)
        #expect(folded.secrets == seen.secrets)
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func aJournalWithNoCompletedCallIsRemovedWithoutAWrite(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let state = sampleState(serial: 5)
        try await fixture.backend.withLock(operation: "apply", timeout: 0) { locked in
            try await locked.save(state, replacing: nil)
            _ = try await locked.startJournal(
                journalRun([plannedChange(.create, at: address, key: state.fingerprintKey)], on: state).header)
            try await locked.recoverJournal()
        }
        #expect(try await fixture.other.hasJournal() == false)
        #expect(try await fixture.other.load() == state)
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func aForeignJournalIsRefusedAndLeftInPlace(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let state = sampleState(serial: 2)
        try await fixture.backend.withLock(operation: "apply", timeout: 0) { locked in
            try await locked.save(state, replacing: nil)
            let run = journalRun(
                [plannedChange(.create, at: address, key: state.fingerprintKey)], on: state, lineage: "another")
            let journal = try await locked.startJournal(run.header)
            try await journal.append(run.entries[0])
            await #expect(throws: JournalError.self) { try await locked.recoverJournal() }
            await #expect(throws: JournalError.self) {
                _ = try await locked.startJournal(journalRun([], on: state).header)
            }
        }
        #expect(try await fixture.other.hasJournal())
        #expect(try await fixture.other.load() == state)  // readers ignore it too
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func aJournalNotWrittenWithTheStatesKeyIsNeverFolded(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let state = sampleState(serial: 2)
        let victim = SecretAddress(account: "acct_A1", scope: .account, name: "b")
        // Everything a plan file shows (lineage, serial, addresses, fingerprints), but not the key.
        let forger = State(
            lineage: state.lineage, serial: state.serial, mode: .test, fingerprintKey: FingerprintKey(), secrets: [:])
        let forged = journalRun([plannedChange(.delete, at: victim, key: forger.fingerprintKey)], on: forger)
        try await fixture.backend.withLock(operation: "apply", timeout: 0) { locked in
            try await locked.save(state, replacing: nil)
            let journal = try await locked.startJournal(forged.header)
            try await journal.append(forged.entries[0])
            await #expect(throws: JournalError.self) { try await locked.recoverJournal() }
        }
        #expect(try await fixture.other.load()?.secrets[victim] != nil)  // readers ignore it too
        #expect(try await fixture.other.hasJournal())
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func anEntryForACallItsRunDidNotPlanIsRefused(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        let state = sampleState(serial: 2)
        let planned = journalRun([plannedChange(.create, at: address, key: state.fingerprintKey)], on: state)
        // A genuine entry of another run, replayed into this one.
        let victim = SecretAddress(account: "acct_A1", scope: .account, name: "b")
        let other = journalRun([plannedChange(.delete, at: victim, key: state.fingerprintKey)], on: state)
        try await fixture.backend.withLock(operation: "apply", timeout: 0) { locked in
            try await locked.save(state, replacing: nil)
            let journal = try await locked.startJournal(planned.header)
            try await journal.append(planned.entries[0])
            try await journal.append(other.entries[0])
            await #expect(throws: JournalError.self) { try await locked.recoverJournal() }
        }
        #expect(try await fixture.other.load() == state)
        await fixture.close()
    }

    @Test(arguments: backendKinds())
    func newerAndForeignDocumentsAreRefusedAndNeverOverwritten(kind: BackendKind) async throws {
        let fixture = try await BackendFixture.make(kind)
        for (document, expected) in [
            ("{\"format\": \"stripe-secrets-state\", \"format_version\": 9}", "format version 9, written by a newer"),
            ("{\"format\": \"other\"}", "a stripe-secrets state"),
            ("{\"format\": \"stripe-secrets-state\", \"format_version\": 1}", "is corrupt (no lineage)"),
        ] {
            try fixture.plant(document)
            await #expect {
                _ = try await fixture.backend.load()
            } throws: { error in
                (error as? DocumentError)?.description.contains(expected) == true
            }
            await #expect(throws: DocumentError.self) {
                try await fixture.backend.withLock(operation: "apply", timeout: 0) { locked in
                    try await locked.save(sampleState(), replacing: try await locked.loadSaved()?.serial)
                }
            }
        }
        await fixture.close()
    }
}
