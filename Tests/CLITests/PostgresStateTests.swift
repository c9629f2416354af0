import Foundation
import SecretsCore
import StripeAPI
@testable import StateStorage
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

    @Test func importAdoptsIntoADatabaseStateAndTheNextPlanIsEmpty() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        #expect(try scenario.runner.run("state", "rm", "account/openai_api_key").status == 0)
        let imported = try scenario.runner.run("import", "--all")
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("imported  account/openai_api_key  appsecret_"))
        #expect(imported.stdout.contains("value matches secrets.yaml"))
        #expect(imported.stdout.contains("1 secret imported into postgres://"))
        #expect(try scenario.runner.run("plan").stdout.contains("No changes. 6 secrets match"))
        let serial = try cluster.psql("SELECT serial FROM stripe_secrets.states", database: database)
        #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
    }

    @Test func aProtectedSecretInADatabaseStateIsNeverDeletedUntilReleased() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, _) = try scenario(cluster)
        try scenario.folder.write("secrets.yaml", ProtectionTests.protected)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let entry = "  - name: openai_api_key\n    value: {env: OPENAI_API_KEY}\n"
        try scenario.folder.write("secrets.yaml", ApplyScenario.manifest.replacing(entry, with: ""))
        let refused = try scenario.runner.run("apply", "--auto-approve")
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasPrefix("error: account/openai_api_key is protected (protect: true, applied at serial 2)"))
        try scenario.folder.write("secrets.yaml", ApplyScenario.manifest)  // protect: false by default
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        try scenario.folder.write("secrets.yaml", ApplyScenario.manifest.replacing(entry, with: ""))
        let removed = try scenario.runner.run("apply", "--auto-approve")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("\ndeleted   account/openai_api_key"))
    }

    @Test func aDatabaseStateWithAKeptApartKeyHoldsNoKeyAndNeedsIt() throws {
        let cluster = try PostgresCluster.shared.get()
        var (scenario, database) = try scenario(cluster)
        let key = KeptApartKeyTests.newKey()
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = key
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let dump = try cluster.dump(database: database)
        #expect(!dump.contains(key))
        #expect(!dump.contains(KeptApartKeyTests.hex(key)))
        #expect(dump.contains("fingerprint_key_id"))
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = nil
        let refused = try scenario.runner.run("plan")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("keeps its fingerprint key apart; set STRIPE_SECRETS_FINGERPRINT_KEY"))
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = KeptApartKeyTests.newKey()
        #expect(try scenario.runner.run("plan").stderr.contains("is not the one"))
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = key
        #expect(try scenario.runner.run("state", "rekey", "--embed-new-key").status == 0)
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = nil
        #expect(try scenario.runner.run("plan").stdout.contains("No changes. 6 secrets match"))
    }

    @Test func aStateImportedWithoutValuesIsReadAndAppliedFromADatabase() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(
            cluster, emulatorOptions: ["--payloadless-key", "rk_test_noValues0123"])
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        #expect(try scenario.runner.run(["state", "rm"] + ApplyScenario.addresses).status == 0)
        var restricted = scenario.runner
        restricted.environment["STRIPE_API_KEY"] = "rk_test_noValues0123"
        let imported = try restricted.run("import", "--all")
        #expect(imported.status == 0, "\(imported.stderr)")
        let document = try cluster.psql("SELECT document::text FROM stripe_secrets.states", database: database)
        #expect(document.contains("appsecret_") && !document.contains("\"fingerprint\""))

        #expect(try scenario.runner.run("state", "list").stdout.contains("6 secrets in postgres://"))
        #expect(!(try scenario.runner.run("state", "pull").stdout.contains("\"fingerprint\"")))
        let plan = try scenario.runner.run("plan", "--refresh-values", "--format", "json")
        #expect(plan.stdout.components(separatedBy: "\"value_unknown_since_import\"").count - 1 == 6)
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try scenario.runner.run("plan", "--refresh-values", "--detailed-exitcode").status == 0)
        try scenario.expectNoSecretIn([imported, plan, applied])
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
        try scenario.expectTwoAppliesAtOnceWriteOnce(stateName: "postgres://")
    }

    @Test func aPlanDuringAnApplyReadsTheDatabaseStateBeforeOrAfterEachCall() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, _) = try scenario(cluster, emulatorOptions: ["--latency", "200ms"])
        try scenario.expectPlansDuringAnApplyToReadConsistently()
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
        // The server stops while a call is in flight (the emulator paused meanwhile), so the call
        // completes in Stripe and cannot be recorded.
        let stoppedAt = ContinuousClock.now
        try scenario.emulator.paused { try cluster.stop() }
        let failed = running.wait()
        #expect(ContinuousClock.now - stoppedAt < .seconds(60))
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("PostgreSQL at postgres://postgres@127.0.0.1:\(cluster.port)/\(database)"))
        #expect(failed.stderr.contains("running the command again finishes the rest"), "\(failed.stderr)")
        let unsent =
            failed.stdout.components(separatedBy: "\n").filter { $0.contains("not attempted") }
            + failed.stderr.components(separatedBy: "\n").filter { $0.contains("not attempted") }
        #expect(
            unsent.allSatisfy { $0.contains("not attempted: stopped because a completed call could not be recorded") })

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
        #expect(refused.stderr.contains("name it with --state (or STRIPE_SECRETS_STATE) and --workspace"))
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
        #expect(inURL.stderr.contains("(with a password from the URL)"))
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

extension PostgresStateTests {
    @Test func aServerThatGoesSilentAfterTheLoginIsAnErrorInBoundedTime() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster)
        for readyMessages in [1, 2, 3] {
            let proxy = try ScriptServer("silent_postgres_proxy.py", ["\(cluster.port)", "\(readyMessages)"])
            let started = ContinuousClock.now
            let listed = try scenario.runner.run(
                "state", "list", "--state",
                "postgres://postgres@127.0.0.1:\(proxy.address)/\(database)?sslmode=disable&connect_timeout=2")
            #expect(ContinuousClock.now - started < .seconds(40), "silent after \(readyMessages) ReadyForQuery")
            #expect(listed.status == 1)
            #expect(listed.stderr.contains("did not answer within"), "\(listed.stderr)")
            withExtendedLifetime(proxy) {}
        }
    }

    @Test func aReadOnlyUserCanListAndPullWhileAnApplyHoldsTheLock() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let reader = "reader_" + UUID().uuidString.prefix(6).lowercased()
        try cluster.createRole(reader, password: "canary-reader-password")
        _ = try cluster.psql(
            "GRANT USAGE ON SCHEMA stripe_secrets TO \(reader); "
                + "GRANT SELECT ON ALL TABLES IN SCHEMA stripe_secrets TO \(reader)", database: database)
        var readOnly = scenario.runner
        readOnly.environment["STRIPE_SECRETS_STATE"] = cluster.url(user: reader, database: database)
        readOnly.environment["PGPASSWORD"] = "canary-reader-password"
        let pulled = try readOnly.run("state", "pull")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout.contains("\"format\" : \"stripe-secrets-state\""))
        #expect(try readOnly.run("state", "list").status == 0)
        let plan = try readOnly.run("plan", "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stderr)")
    }

    @Test func aRowWhoseSerialDisagreesWithItsDocumentIsRefused() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        _ = try cluster.psql("UPDATE stripe_secrets.states SET serial = 5", database: database)
        let removed = try scenario.runner.run("state", "rm", "account/openai_api_key")
        #expect(removed.status == 1)
        #expect(removed.stderr.contains("the row's serial and lineage (5, "))
        #expect(removed.stderr.contains("restore the serial, lineage and document columns together"))
        #expect(removed.stderr.contains("previous_document column of stripe_secrets.states"))
    }

    @Test func aForeignJournalSaysHowToSetItAside() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        _ = try cluster.psql(
            """
            INSERT INTO stripe_secrets.journals (workspace, header) VALUES ('default',
              '{"lineage":"x","serial":1,"mode":"test","run":"r","calls":[],"code":"c"}')
            """, database: database)
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 1)
        #expect(
            applied.stderr.contains("set it aside (DELETE FROM stripe_secrets.journals WHERE workspace = 'default')"))
        _ = try cluster.psql("DELETE FROM stripe_secrets.journals WHERE workspace = 'default'", database: database)
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
    }

    @Test func aPushOfADocumentWithAPendingJournalIsRefused() throws {
        let cluster = try PostgresCluster.shared.get()
        var (scenario, database) = try scenario(cluster)
        scenario.runner.environment.removeValue(forKey: "STRIPE_SECRETS_STATE")
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        try scenario.folder.write("secrets.state.json.journal", "")
        let pushed = try scenario.runner.run(
            "state", "push", "secrets.state.json", "--state", cluster.url(database: database))
        #expect(pushed.status == 1)
        #expect(pushed.stderr.contains("has the journal of an interrupted apply"))
    }

    @Test func forceUnlockSaysWhoHoldsTheLockAndThatItEndsWithTheirSession() throws {
        let cluster = try PostgresCluster.shared.get()
        let (scenario, database) = try scenario(cluster, emulatorOptions: ["--latency", "300ms"])
        let free = try scenario.runner.run("force-unlock")
        #expect(free.status == 0)
        #expect(free.stdout.contains("is not locked: a PostgreSQL lock ends with its session"))

        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        waitUntil { journalEntries(cluster, database: database) >= 1 }
        // Paused, the emulator keeps the apply (and its lock) in the middle however slow this is.
        let (held, waiting) = try scenario.emulator.paused {
            (try scenario.runner.run("force-unlock"), try scenario.runner.run("state", "rm", "account/openai_api_key"))
        }
        #expect(held.status == 1)
        #expect(held.stderr.contains("is locked by apply (pid \(running.process.processIdentifier) on "))
        #expect(held.stderr.contains("A PostgreSQL lock ends by itself when its session ends"))
        #expect(held.stderr.contains("SELECT pg_terminate_backend("))
        #expect(waiting.status == 1)
        #expect(waiting.stderr.contains("is locked by apply (pid \(running.process.processIdentifier)"))
        #expect(waiting.stderr.contains("the lock ends by itself when that run or its connection ends"))
        #expect(running.wait().status == 0)
    }

    @Test func aLockHoldersRecordCannotWriteToTheTerminal() throws {
        let holder = LockHolder(operation: "apply\u{1b}[2J", pid: 1, host: "h\nerror: nothing", since: 1_800_000_000)
        #expect(
            holder.description == "apply\\u{1b}[2J (pid 1 on h\\u{a}error: nothing, since 08:00:00 UTC on 2027-01-15)")
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
