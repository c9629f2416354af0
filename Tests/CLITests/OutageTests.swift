import Foundation
import Testing

@testable import StateStorage

#if canImport(Glibc)
    import Glibc
#endif

/// The API going away mid-apply: the run stops starting changes, says so, and leaves a readable,
/// unlocked state that a rerun finishes from.
///
/// Synchronous on purpose, like the kill test in `ApplyCommandTests`: the polls must not wait for
/// a thread of the shared pool.
@Suite struct OutageTests {
    /// `count` creates, 10 per connected account, against an emulator with `options`.
    private func outageScenario(count: Int, emulatorOptions: [String]) throws -> ApplyScenario {
        let scenario = try ApplyScenario(emulatorOptions: emulatorOptions)
        var manifest = "version: 1\nsecrets:\n"
        for index in 0..<count {
            manifest += "  - name: s\(index)\n    account: acct_\(index / 10)Outage\n    value: {env: SHARED_KEY}\n"
        }
        try scenario.folder.write("secrets.yaml", manifest)
        return scenario
    }

    /// Waits until the running apply has journalled a few calls, so that many are still pending.
    private func waitForSomeCalls(_ scenario: ApplyScenario) {
        let journal = scenario.folder.path + "/secrets.state.json.journal"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
            ((try? String(contentsOfFile: journal, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 4
        {
            usleep(5_000)
        }
    }

    /// What the apply that lost its API says and leaves: exit 1, the reason and the way on, and a
    /// state that reads, unlocked, with no journal. Returns how many changes were applied.
    private func expectAStoppedRun(_ output: BinaryRunner.Output, count: Int, scenario: ApplyScenario) throws -> Int {
        #expect(output.status == 1)
        #expect(output.stderr.contains("Stripe stopped answering mid-apply (could not reach Stripe: "))
        #expect(output.stderr.contains("once Stripe answers, run stripe-secrets apply again to finish the job"))
        let summary = try #require(output.stdout.split(separator: "\n").first { $0.hasPrefix("Apply finished: ") })
        let numbers = summary.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(numbers.count >= 3, "\(summary)")
        let (applied, failed) = (numbers[0], numbers[2])
        #expect(numbers[1] == count && applied + failed == count)
        // Only the changes in flight (at most --parallelism, 8) were tried after the API went away;
        // every other pending change was never sent.
        let notAttempted = output.stderr.components(separatedBy: "not attempted: ").count - 1
        #expect(notAttempted >= failed - 8 && notAttempted < failed, "\(summary)")
        #expect(output.stderr.contains("\(notAttempted) changes not attempted"))

        let store = FileStateBackend(path: scenario.folder.path + "/secrets.state.json")
        #expect(!store.lockStatus().isHeld)
        #expect(!store.hasJournal())
        #expect(try store.load()?.secrets.count == applied)
        #expect(try scenario.runner.run("state", "list").status == 0)
        return applied
    }

    /// The emulator killed: connections are refused at once. The API that comes back is a new,
    /// empty emulator (it keeps nothing in memory), so the rerun is checked for doing exactly the
    /// changes the state does not record.
    @Test(arguments: [40, 200]) func anAPIKilledMidApplyStopsNewChangesAndARerunFinishesTheRest(count: Int) throws {
        var scenario = try outageScenario(count: count, emulatorOptions: ["--latency", "100ms"])
        let running = try scenario.runner.start("apply", "--auto-approve")
        waitForSomeCalls(scenario)
        kill(scenario.emulator.process.processIdentifier, SIGKILL)
        let applied = try expectAStoppedRun(running.wait(), count: count, scenario: scenario)

        let restarted = try EmulatorProcess(arguments: [])
        scenario.runner.environment["STRIPE_API_BASE"] = restarted.url
        let rerun = try scenario.runner.run("apply", "--auto-approve")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("Applying \(count - applied) changes"))
        #expect(try restarted.statsBlocking().requests == count - applied)
        #expect(try scenario.runner.run("plan", "--detailed-exitcode").status == 0)
    }

    /// The emulator stopped (SIGSTOP): connections are accepted and never answered. Once it is
    /// continued, the rerun leaves Stripe holding exactly the manifest, as the state records it.
    @Test func anAPIThatStopsAnsweringEndsTheRunAndARerunAfterItResumesConverges() throws {
        let count = 200
        let scenario = try outageScenario(count: count, emulatorOptions: ["--latency", "100ms"])
        let running = try scenario.runner.start("apply", "--auto-approve", "--request-timeout", "2s")
        waitForSomeCalls(scenario)
        let emulator = scenario.emulator.process.processIdentifier
        kill(emulator, SIGSTOP)
        let output = running.wait()
        kill(emulator, SIGCONT)
        _ = try expectAStoppedRun(output, count: count, scenario: scenario)

        let rerun = try scenario.runner.run("apply", "--auto-approve")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let expected = (0..<count).map { "acct_\($0 / 10)Outage/account/s\($0)" }.sorted()
        #expect(try scenario.emulator.statsBlocking().secrets == expected)
        let refreshed = try scenario.runner.run("plan", "--refresh-values", "--detailed-exitcode")
        #expect(refreshed.status == 0, "\(refreshed.stdout)")
    }

    /// At 0.5 calls a second, a call waits 2.1 s for its turn, longer than the 1 s request
    /// timeout. That wait is not silence: a connection closed at once (`--drop-rate 1`) is retried,
    /// by the call that waited as by the first one, rather than taken for an outage before the
    /// retry, or the call's time used up by the wait (four attempts in 6.3 s, under the 10 s that
    /// three failures in a row need).
    @Test func aDroppedCallAtASlowRateIsRetriedNotTakenForAnOutage() throws {
        let count = 2
        let scenario = try outageScenario(count: count, emulatorOptions: ["--drop-rate", "1"])
        let output = try scenario.runner.run(
            "apply", "--auto-approve", "--rate-limit", "0.5", "--request-timeout", "1s", "--parallelism", "2")
        #expect(output.status == 1)
        #expect(try scenario.emulator.statsBlocking().requests == 2 * count, "\(output.stdout)\(output.stderr)")
    }
}
