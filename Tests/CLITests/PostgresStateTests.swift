import Foundation
import SecretsCore
import StripeAPI
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The built binary against the emulator, with its state in a real PostgreSQL server.
///
/// Synchronous on purpose, like the kill test in `ApplyCommandTests`: the polls below must not
/// wait for a thread of the shared pool, which other tests' process waits may be holding.
@Suite(
    .disabled(
        if: PostgresCluster.skipReason != nil,
        "PostgreSQL server binaries not found: install Debian's postgresql package, or set STRIPE_SECRETS_PG_BIN"))
struct PostgresStateTests {
    /// An apply scenario whose state is a fresh database of `cluster`.
    private func scenario(
        _ cluster: PostgresCluster, emulatorOptions: [String] = []
    ) throws -> (ApplyScenario, database: String) {
        let database = "e2e_" + UUID().uuidString.prefix(8).lowercased()
        try cluster.createDatabase(database)
        var scenario = try ApplyScenario(emulatorOptions: emulatorOptions)
        scenario.runner.environment["STRIPE_SECRETS_STATE"] = cluster.url(database: database)
        scenario.runner.environment["PGPASSWORD"] = cluster.password
        return (scenario, database)
    }

    private func journalEntries(_ cluster: PostgresCluster, database: String) -> Int {
        let count = try? cluster.psql(
            "SELECT count(*) FROM stripe_secrets.journal_entries", database: database
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        return count.flatMap { Int($0) } ?? 0
    }

    private func waitUntil(_ condition: () -> Bool) {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !condition() { usleep(20_000) }
    }

    @Test func applyThenPlanShowsNoChangeAndTheDatabaseHoldsNoValue() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster)
        let plan = try scenario.runner.run("plan", "--out", "plan.json")
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.hasPrefix("stripe-secrets plan: secrets.yaml against postgres://postgres@127.0.0.1:"))
        let apply = try scenario.runner.run("apply", "plan.json")
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.hasSuffix("\nApply finished: 6 of 6 changes applied. State saved (serial 1).\n"))
        let again = try scenario.runner.run("plan", "--detailed-exitcode")
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(again.stdout.contains("\nNo changes. 6 secrets match postgres://postgres@127.0.0.1:"))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/secrets.state.json"))

        let dump = try cluster.dump(database: database)
        #expect(dump.contains("stripe-secrets-state"))
        #expect(!dump.contains("canary"), "a value reached the database")
        try scenario.expectNoSecretIn([plan, apply, again])
        for output in [plan, apply, again] { #expect(!(output.stdout + output.stderr).contains(cluster.password)) }
    }

    @Test func twoAppliesAtOnceWriteOnceAndTheSecondFindsNothingToDo() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, _) = try scenario(cluster, emulatorOptions: ["--latency", "50ms"])
        #expect(try scenario.runner.run("plan").status == 0)  // creates the state, so both race on one row
        let runs = try (0..<2).map { _ in
            try scenario.runner.start("apply", "--auto-approve", "--lock-timeout", "60s")
        }.map { $0.wait() }
        #expect(runs.map(\.status) == [0, 0], "\(runs.map(\.stderr))")
        let outputs = runs.map(\.stdout)
        #expect(
            outputs.filter { $0.hasSuffix("Apply finished: 6 of 6 changes applied. State saved (serial 1).\n") }.count
                == 1)
        #expect(outputs.filter { $0.hasPrefix("No changes to apply. 6 secrets match postgres://") }.count == 1)
        #expect(try scenario.emulator.statsBlocking().requests == 6)
    }

    @Test func aKilledApplyIsTakenOverByTheNextOne() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster, emulatorOptions: ["--latency", "300ms"])
        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        waitUntil { journalEntries(cluster, database: database) >= 1 }
        kill(running.process.processIdentifier, SIGKILL)
        _ = running.wait()
        let recorded = journalEntries(cluster, database: database)
        #expect(recorded >= 1 && recorded < 6)

        // The server frees a dead session's lock at once: no force-unlock, no wait.
        let resumed = try scenario.runner.run("apply", "--auto-approve")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("Applying \(6 - recorded) change"))
        #expect(journalEntries(cluster, database: database) == 0)
        #expect(try scenario.runner.run("plan", "--detailed-exitcode").status == 0)
        #expect(try scenario.emulator.statsBlocking().secrets == ApplyScenario.addresses)
    }

    @Test func aServerStoppedMidApplyFailsClearlyAndARerunAfterTheRestartCompletes() throws {
        let cluster = try PostgresCluster.start()  // its own: this test stops it
        let (scenario, database) = try scenario(cluster, emulatorOptions: ["--latency", "300ms"])
        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        waitUntil { journalEntries(cluster, database: database) >= 1 }
        let stoppedAt = ContinuousClock.now
        try cluster.stop()
        let failed = running.wait()
        #expect(ContinuousClock.now - stoppedAt < .seconds(60))
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("PostgreSQL at postgres://postgres@127.0.0.1:\(cluster.port)/\(database)"))
        #expect(failed.stderr.contains("running the command again finishes the rest"), "\(failed.stderr)")

        try cluster.start()
        let rerun = try scenario.runner.run("apply", "--auto-approve")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try scenario.runner.run("plan", "--detailed-exitcode").status == 0)
        #expect(try scenario.emulator.statsBlocking().secrets == ApplyScenario.addresses)
        try scenario.expectNoSecretIn([failed, rerun])
    }

    @Test func aFileStateMovesToPostgreSQLAndBackByteForByte() throws {
        let cluster = try PostgresCluster.shared.get()
        var (scenario, database) = try scenario(cluster)
        let url = cluster.url(database: database)
        scenario.runner.environment.removeValue(forKey: "STRIPE_SECRETS_STATE")
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let file = try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)

        let push = try scenario.runner.run("state", "push", "secrets.state.json", "--state", url)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.hasPrefix("Pushed secrets.state.json (lineage "))
        let pull = try scenario.runner.run("state", "pull", "--state", url)
        #expect(pull.status == 0)
        #expect(pull.stdout == file)
        let plan = try scenario.runner.run("plan", "--state", url, "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")

        let again = try scenario.runner.run("state", "push", "secrets.state.json", "--state", url)
        #expect(again.status == 1)
        #expect(again.stderr.contains("is at serial 1, and secrets.state.json at 1 is not newer; nothing was written"))
        #expect(try scenario.runner.run("state", "push", "secrets.state.json", "--state", url, "--force").status == 0)

        try scenario.folder.write("other.yaml", "version: 1\nsecrets: []\n")
        #expect(try scenario.runner.run("plan", "-f", "other.yaml").status == 0)
        let foreign = try scenario.runner.run("state", "push", "other.state.json", "--state", url)
        #expect(foreign.status == 1)
        #expect(foreign.stderr.contains("holds another state (lineage "))
    }

    @Test func aSecondWorkspaceIsASeparateState() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, _) = try scenario(cluster)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let other = try scenario.runner.run("plan", "--workspace", "staging", "--detailed-exitcode")
        #expect(other.status == 2)
        #expect(other.stdout.contains("(workspace staging) (serial 0, no apply yet)"))
        #expect(try scenario.runner.run("plan", "--detailed-exitcode").status == 0)
        let bad = try scenario.runner.run("plan", "--workspace", "no spaces")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("--workspace must be 1 to 64 letters"))
    }

    @Test func aPlanFileNeverPointsTheToolAtAnotherDatabase() throws {
        let cluster = try PostgresCluster.shared.get()
        var (scenario, _) = try scenario(cluster)
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        scenario.runner.environment.removeValue(forKey: "STRIPE_SECRETS_STATE")
        let refused = try scenario.runner.run("apply", "plan.json")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("plan.json was planned against postgres://postgres@127.0.0.1:"))
        #expect(refused.stderr.contains("name that database with --state (or STRIPE_SECRETS_STATE)"))
    }

    @Test func aWrongPasswordAndAnUnreachableServerNamePostgreSQLAndNeverThePassword() throws {
        let cluster = try PostgresCluster.shared.get()
        var (scenario, database) = try scenario(cluster)
        scenario.runner.environment["PGPASSWORD"] = "canary-wrong-password"
        let wrong = try scenario.runner.run("plan")
        #expect(wrong.status == 1)
        #expect(
            wrong.stderr.contains(
                "PostgreSQL at postgres://postgres@127.0.0.1:\(cluster.port)/\(database) refused the login"))
        #expect(!wrong.stderr.contains("canary-wrong-password"))

        let inline = "postgres://postgres:canary-inline-password@127.0.0.1:\(cluster.port)/\(database)"
        let inURL = try scenario.runner.run("plan", "--state", inline)
        #expect(inURL.status == 1)
        #expect(inURL.stderr.contains("refused the login"))
        #expect(!inURL.stderr.contains("canary-inline-password"))

        let started = ContinuousClock.now
        let closed = try scenario.runner.run("plan", "--state", "postgres://postgres@127.0.0.1:1/x?sslmode=disable")
        #expect(closed.status == 1)
        #expect(closed.stderr.hasPrefix("error: cannot reach PostgreSQL at postgres://postgres@127.0.0.1:1/x: "))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aServerThatNeverAnswersIsAnErrorInBoundedTime() throws {
        let silent = try SilentListener()
        let (scenario, _) = try scenario(try PostgresCluster.shared.get())
        let started = ContinuousClock.now
        let hung = try scenario.runner.run(
            "plan", "--state", "postgres://postgres@127.0.0.1:\(silent.port)/x?sslmode=disable&connect_timeout=2")
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(hung.status == 1)
        #expect(hung.stderr.contains("PostgreSQL at postgres://postgres@127.0.0.1:\(silent.port)/x did not answer"))
        withExtendedLifetime(silent) {}
    }
}

/// A loopback TCP port that completes connections (the kernel's backlog) and never says a word.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        try #require(bound)
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }
}
