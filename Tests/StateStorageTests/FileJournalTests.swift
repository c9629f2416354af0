import Foundation
import SecretsCore
import SecretsModel
import Testing
import TestSupport
@testable import StateStorage

/// What only the file backend's journal does: lines cut short by a crash, a journal already
/// written. What every backend's journal does is in `StateBackendContractTests`.
@Suite struct FileJournalTests {
    let key = FingerprintKey()
    let address = SecretAddress(account: nil, scope: .account, name: "token")
    let run: (header: JournalHeader, entries: [JournalEntry])

    init() {
        run = journalRun(
            [plannedChange(.create, at: address, key: key)],
            on: State(lineage: "L", serial: 3, mode: nil, fingerprintKey: key, secrets: [:]))
    }

    private func start(_ folder: TemporaryFolder) throws -> (FileStateBackend, FileJournal) {
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        try store.write(State(lineage: "L", serial: 3, mode: nil, fingerprintKey: key, secrets: [:]))
        return (store, try FileJournal.start(at: store.journalPath, header: run.header, place: store.journalPlace))
    }

    private func entry() -> JournalEntry {
        run.entries[0]
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

    @Test func aJournalAlreadyWrittenIsRemovedWithoutAWrite() throws {
        let folder = try TemporaryFolder()
        let (store, journal) = try start(folder)
        try journal.append(entry())
        try store.write(State(lineage: "L", serial: 4, mode: .test, fingerprintKey: key, secrets: [:]))
        try FileStateBackend.Locked(backend: store).recoverJournal()  // serial 3 against 4: written before the crash
        #expect(!store.hasJournal())
        #expect(try store.load()?.serial == 4)
        #expect(try store.load()?.secrets.isEmpty == true)
    }

    @Test func aDamagedLineInTheMiddleIsRefusedAndKept() throws {
        let folder = try TemporaryFolder()
        let (store, journal) = try start(folder)
        try journal.append(entry())
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("not json\n".utf8))
        try handle.close()
        try journal.append(entry())
        #expect(throws: JournalError(.damaged, store.journalPlace)) { try store.load() }
        #expect(store.hasJournal())
    }

    @Test func aJournalFileIsNeverOpenedThroughASymlink() throws {
        let folder = try TemporaryFolder()
        let store = FileStateBackend(path: folder.path + "/s.state.json")
        try store.write(State(lineage: "L", serial: 3, mode: nil, fingerprintKey: key, secrets: [:]))
        let victim = try folder.write("victim.txt", "keep me")
        try FileManager.default.createSymbolicLink(atPath: store.journalPath, withDestinationPath: victim)
        #expect(throws: JournalError(.notAFile, store.journalPlace)) {
            _ = try FileJournal.start(at: store.journalPath, header: run.header, place: store.journalPlace)
        }
        #expect(throws: JournalError(.notAFile, store.journalPlace)) { try store.load() }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
    }
}
