import Foundation
import Testing
import TestSupport
@testable import SecretsCore

@Suite struct JournalTests {
    let key = FingerprintKey()
    let address = SecretAddress(account: nil, scope: .account, name: "token")

    private func start(_ folder: TemporaryFolder, serial: Int = 3, lineage: String = "L") throws -> (
        StateStore, Journal
    ) {
        let store = StateStore(path: folder.path + "/s.state.json")
        try store.save(State(lineage: "L", serial: serial, mode: nil, fingerprintKey: key, secrets: [:]))
        let journal = try Journal.start(for: store, header: .init(lineage: lineage, serial: serial, mode: .test))
        return (store, journal)
    }

    private func entry() -> Journal.Entry {
        Journal.Entry(
            action: .create, address: address, id: "appsecret_1",
            fingerprint: key.fingerprint(of: SecretValue("v"), at: address), expiresAt: nil, appliedAt: 1_800_000_000)
    }

    @Test func readersSeeCompletedCallsAndTheSavedSerial() throws {
        let folder = try TemporaryFolder()
        let (store, journal) = try start(folder)
        try journal.append(entry())
        let seen = try #require(try store.load())
        #expect(seen.secrets[address]?.id == "appsecret_1")
        #expect(seen.serial == 3)  // a plan made now is stale once the journal is written
        #expect(seen.mode == .test)
        try store.recoverJournal()
        #expect(!store.hasJournal)
        #expect(try store.load()?.serial == 4)
        #expect(try store.load()?.secrets[address]?.id == "appsecret_1")
    }

    @Test func aLineCutShortByACrashIsIgnored() throws {
        let folder = try TemporaryFolder()
        let (store, journal) = try start(folder)
        try journal.append(entry())
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"action\":\"delete\",\"addr".utf8))
        try handle.close()
        #expect(try store.load()?.secrets.count == 1)
    }

    @Test func aJournalAlreadyWrittenIsRemovedAndAForeignOneIsKept() throws {
        let folder = try TemporaryFolder()
        let (store, journal) = try start(folder)
        try journal.append(entry())
        try store.save(State(lineage: "L", serial: 4, mode: .test, fingerprintKey: key, secrets: [:]))
        try store.recoverJournal()  // serial 3 against a state at 4: written before the crash
        #expect(!store.hasJournal)

        let other = try TemporaryFolder()
        let (foreignStore, foreign) = try start(other, lineage: "another")
        try foreign.append(entry())
        #expect(throws: StateFileError.foreignJournal(path: foreignStore.journalPath, statePath: foreignStore.path)) {
            try foreignStore.recoverJournal()
        }
        #expect(foreignStore.hasJournal)
    }
}
