import Foundation
import Testing

@testable import StateStorage

#if canImport(Glibc)
    import Glibc
#endif

/// Plans run over and over while `running` applies `total` creates: each reads the state as it
/// was before some completed call or after it (journal folded read-only), never a mix, and never
/// goes back. Returns how many plans ran.
func expectConsistentReads(_ runner: BinaryRunner, while running: BinaryRunner.Running, total: Int) throws -> Int {
    var plans = 0
    var lastUnchanged = 0
    while running.process.isRunning {
        let plan = try runner.run("plan")
        #expect(plan.status == 0, "\(plan.stderr)")
        let unchanged: Int
        if plan.stdout.contains("No changes. \(total) secrets match") {
            unchanged = total
        } else {
            let line = try #require(plan.stdout.split(separator: "\n").first { $0.hasPrefix("Plan: ") })
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            try #require(numbers.count == 4, "\(line)")
            #expect(numbers[0] + numbers[3] == total && numbers[1] == 0 && numbers[2] == 0, "\(line)")
            unchanged = numbers[3]
        }
        #expect(unchanged >= lastUnchanged)
        lastUnchanged = unchanged
        plans += 1
    }
    return plans
}

/// Two commands on one file state at once.
@Suite struct ConcurrencyTests {
    @Test func twoAppliesOnOneFileStateWriteOnceAndTheSecondFindsNothingToDo() throws {
        try ApplyScenario(emulatorOptions: ["--latency", "50ms"]).expectTwoAppliesAtOnceWriteOnce(
            stateName: "secrets.state.json")
    }

    @Test func anApplyThatWillNotWaitIsRefusedNamingTheHolder() throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--latency", "300ms"])
        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        let journal = scenario.folder.path + "/secrets.state.json.journal"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: journal) { usleep(5_000) }
        // Paused, the emulator keeps the first apply (and its lock) in the middle meanwhile.
        let refused = try scenario.emulator.paused {
            try scenario.runner.run("apply", "--auto-approve", "--lock-timeout", "0s")
        }
        let first = running.wait()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("secrets.state.json is locked by apply (pid \(running.process.processIdentifier) "))
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(state.serial == 1 && state.secrets.count == 6)
        #expect(try scenario.emulator.statsBlocking().requests == 6)
    }

    @Test func aPlanDuringAnApplyReadsTheStateBeforeOrAfterEachCall() throws {
        try ApplyScenario(emulatorOptions: ["--latency", "200ms"]).expectPlansDuringAnApplyToReadConsistently()
    }
}

extension ApplyScenario {
    /// Plans run over and over during an apply of the manifest's 6 secrets, one call at a time:
    /// each reads the state before or after a call, never half-way; the last finds nothing to do.
    func expectPlansDuringAnApplyToReadConsistently() throws {
        // A plan creates a missing state under the lock; made first, the plans below only read.
        #expect(try runner.run("plan").status == 0)
        let running = try runner.start("apply", "--auto-approve", "--parallelism", "1")
        let plans = try expectConsistentReads(runner, while: running, total: 6)
        #expect(running.wait().status == 0)
        #expect(plans > 0)
        #expect(try runner.run("plan", "--detailed-exitcode").status == 0)
    }

    /// Starts two applies of the manifest's 6 secrets at once: one applies them all (serial 1),
    /// the other waits for the lock, then finds nothing to do in the state it names `stateName…`.
    func expectTwoAppliesAtOnceWriteOnce(stateName: String) throws {
        let runs = try (0..<2).map { _ in
            try runner.start("apply", "--auto-approve", "--lock-timeout", "60s")
        }.map { $0.wait() }
        #expect(runs.map(\.status) == [0, 0], "\(runs.map(\.stderr))")
        let outputs = runs.map(\.stdout)
        #expect(
            outputs.filter { $0.hasSuffix("Apply finished: 6 of 6 changes applied. State saved (serial 1).\n") }.count
                == 1)
        #expect(outputs.filter { $0.hasPrefix("No changes to apply. 6 secrets match \(stateName)") }.count == 1)
        #expect(try emulator.statsBlocking().requests == 6)
    }
}
