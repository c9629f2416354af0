import ArgumentParser
import Foundation
import SecretsCore
@testable import StateStorage
@testable import StripeSecretsCLI
import Testing
import TestSupport

/// What `plan` takes from the state it read ahead (`StatePreload`), and what it reads again.
@Suite struct StatePreloadTests {
    private let folder: TemporaryFolder
    private let manifest: String
    private let statePath: String

    init() throws {
        folder = try TemporaryFolder()
        manifest = folder.path + "/secrets.yaml"
        statePath = folder.path + "/secrets.state.json"
    }

    private func target() throws -> StateTarget {
        try StateOptions.parse(["--state", statePath]).resolve(manifest: manifest)
    }

    private func preload() throws -> StatePreload {
        try #require(StatePreload.start(try StateOptions.parse(["--state", statePath]), manifest: manifest))
    }

    private func write(serial: Int) throws {
        try FileStateBackend(path: statePath).write(
            State(lineage: "a1b2c3", serial: serial, mode: .test, fingerprintKey: FingerprintKey(), secrets: [:]))
    }

    /// The serial and journal a run sees through `loading(preload:)`.
    private func seen(with preload: StatePreload?) async throws -> (serial: Int?, journal: Bool) {
        try await target().loading(preload: preload) { _, read in (read.found?.serial, read.hasJournal) }
    }

    @Test func aStateReadAheadIsTakenAsItWasWithTheJournalItHadThen() async throws {
        try write(serial: 3)
        try folder.write("secrets.state.json.journal", "")
        let early = try preload()
        await early.waitUntilRead()
        try write(serial: 4)
        try FileManager.default.removeItem(atPath: statePath + ".journal")
        let taken = try await seen(with: early)
        #expect(taken.serial == 3 && taken.journal)
        let now = try await seen(with: nil)
        #expect(now.serial == 4 && !now.journal)
    }

    @Test func aFailedReadAheadIsNeverTakenAndTheStateIsReadAgain() async throws {
        try folder.write("secrets.state.json", "{ not a state")
        let early = try preload()
        await early.waitUntilRead()
        try write(serial: 7)
        #expect(try await seen(with: early).serial == 7)
    }

    @Test func aStateMissingAheadButCreatedSinceIsReadAgainOnlyByLoadOrCreate() async throws {
        let early = try preload()
        await early.waitUntilRead()
        try write(serial: 2)
        let taken = try await seen(with: early)
        #expect(taken.serial == nil && !taken.journal)
    }

    @Test func aReadAheadIsTakenOnceAndNotAfterItWasDiscarded() async throws {
        try write(serial: 5)
        let taken = try preload()
        #expect(try await seen(with: taken).serial == 5)
        try write(serial: 6)
        #expect(try await seen(with: taken).serial == 6)  // taken already: read now
        let discarded = try preload()
        discarded.discard()
        try write(serial: 8)
        #expect(try await seen(with: discarded).serial == 8)
    }

    @Test func noReadAheadForAKeyKeptApartOrAStateThatCannotBeNamed() throws {
        #expect(StatePreload.start(try StateOptions.parse(["--fingerprint-key-file", "k"]), manifest: manifest) == nil)
        #expect(StatePreload.start(try StateOptions.parse(["--state", "postgres://"]), manifest: manifest) == nil)
    }
}
