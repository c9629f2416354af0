import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `plan` reads the state while it checks the manifest (`StatePreload`), and `apply` without a
/// plan file, once it holds the lock, reads the state while it checks the manifest
/// (`ApplyCommand.apply`). Neither may change what a run shows or leaves: these compare each
/// failing run with the same run where the work done ahead has nothing to find.
@Suite struct ReadAheadTests {
    static let broken = "version: 1\nsecrets:\n  - name: a\n    value: {env: V}\n    colour: red\n"

    /// What `plan` says of the broken manifest when there is no state at all.
    private func baseline() throws -> BinaryRunner.Output {
        let clean = try TemporaryFolder()
        try clean.write("secrets.yaml", Self.broken)
        let output = try BinaryRunner(environment: ["V": "x"], directory: clean.path).run("plan")
        #expect(output.status == 1)
        #expect(output.stderr.contains("secrets.yaml:5:5"), "\(output.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: clean.path) == ["secrets.yaml"])
        return output
    }

    @Test(arguments: ["not json", "{\"format\": \"stripe-secrets-state\", \"version\": 99}", "folder", "symlink"])
    func aBrokenManifestIsAllAPlanReportsWhateverTheStateIs(state: String) throws {
        let folder = try TemporaryFolder()
        let expected = try baseline()
        try folder.write("secrets.yaml", Self.broken)
        let path = folder.path + "/secrets.state.json"
        switch state {
        case "folder": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        case "symlink": try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/passwd")
        default: try folder.write("secrets.state.json", state)
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        let output = try BinaryRunner(environment: ["V": "x"], directory: folder.path).run("plan")
        #expect(output.status == 1)
        #expect(output.stdout == expected.stdout)
        #expect(output.stderr == expected.stderr)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == before)
    }

    /// A database that does not answer, or is not there: the manifest's problems, and nothing of it.
    @Test func aBrokenManifestIsAllAPlanReportsWhenTheDatabaseDoesNotAnswer() throws {
        let folder = try TemporaryFolder()
        let expected = try baseline()
        try folder.write("secrets.yaml", Self.broken)
        let silent = try SilentListener()
        for url in ["postgres://u@127.0.0.1:\(silent.port)/db", "postgres://u@127.0.0.1:1/db"] {
            let output = try BinaryRunner(
                environment: ["V": "x", "STRIPE_SECRETS_STATE": url, "PGPASSWORD": "secret"], directory: folder.path
            ).run("plan")
            #expect(output.status == 1)
            #expect(output.stderr == expected.stderr)
        }
        withExtendedLifetime(silent) {}
    }

    /// Before, `apply` checked the manifest only once it held the lock: a held lock is still
    /// what it reports, and a run that gets the lock reports the manifest.
    @Test func anApplyWithABrokenManifestReportsAHeldLockFirst() throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--latency", "300ms"])
        try scenario.folder.write("broken.yaml", Self.broken)
        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        let journal = scenario.folder.path + "/secrets.state.json.journal"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: journal) { usleep(5_000) }
        let refused = try scenario.emulator.paused {
            try scenario.runner.run("apply", "--auto-approve", "-f", "broken.yaml", "--state", "secrets.state.json")
        }
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is locked by apply (pid \(running.process.processIdentifier)"))
        #expect(!refused.stderr.contains("broken.yaml"), "\(refused.stderr)")
        #expect(running.wait().status == 0)

        let reported = try scenario.runner.run(
            "apply", "--auto-approve", "-f", "broken.yaml", "--state", "secrets.state.json")
        #expect(reported.status == 1)
        #expect(reported.stderr.contains("broken.yaml:5:5"), "\(reported.stderr)")
    }

    /// An apply that waits for the lock reads its values once it has it: a value rotated while
    /// it waited is what it applies, never the one of when it started.
    @Test func anApplyThatWaitedForTheLockAppliesTheValuesOfNow() throws {
        let folder = try TemporaryFolder()
        let emulator = try EmulatorProcess(arguments: ["--latency", "1s"])
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: token\n    value: {file: token.txt}\n")
        try folder.write("token.txt", "first")
        let runner = BinaryRunner(
            environment: ["STRIPE_API_BASE": emulator.url, "STRIPE_API_KEY": "sk_test_fakeReadAhead"],
            directory: folder.path)
        let holder = try runner.start("apply", "--auto-approve")
        let journal = folder.path + "/secrets.state.json.journal"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: journal) { usleep(5_000) }
        // Paused, the emulator keeps the holder (and its lock) in its call meanwhile.
        let waiter = try emulator.paused {
            let waiter = try runner.start("apply", "--auto-approve", "--lock-timeout", "1m")
            usleep(300_000)  // the waiter is at the lock by now (if not, it reads "second" anyway)
            try folder.write("token.txt", "second")
            return waiter
        }
        #expect(holder.wait().status == 0)
        let waited = waiter.wait()
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.stdout.contains("1 to replace"), "\(waited.stdout)")
        let refreshed = try runner.run("plan", "--refresh-values", "--detailed-exitcode")
        #expect(refreshed.status == 0, "\(refreshed.stdout)")
    }
}
