import Foundation
import SecretsCore
import SecretsModel
import StripeAPI
import Testing
import TestSupport

@testable import StateStorage

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Every file the tool reads and every answer it gets is untrusted: each test here is an attack
/// that once worked (or one like it), run against the built binary.
///
/// Synchronous on purpose, like the kill test in `ApplyCommandTests`.
@Suite struct HostileInputTests {
    private func json(_ path: String) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    private func write(_ object: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    private func files(in folder: TemporaryFolder) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
    }

    // MARK: Forged plan files

    @Test func aPlanFileWithAnAddedDeleteIsRefusedBeforeAnyRequest() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        var plan = try json(scenario.folder.path + "/plan.json")
        let unchanged = try #require(plan["unchanged"] as? [String])
        plan["unchanged"] = unchanged.filter { $0 != "account/openai_api_key" }
        plan["changes"] = [
            [
                "action": "delete", "address": "account/openai_api_key", "account": NSNull(),
                "scope": ["type": "account", "user": NSNull()], "name": "openai_api_key",
                "reason": "removed_from_manifest", "detail": NSNull(), "source": NSNull(),
                "fingerprint_before": String(repeating: "a", count: 64), "fingerprint_after": NSNull(),
                "expires_at_before": NSNull(), "expires_at_after": NSNull(), "remote_id": "appsecret_x",
            ]
        ]
        // A careful forger keeps the summary in step, so that only the derivation can notice.
        plan["summary"] = ["create": 0, "replace": 0, "delete": 1, "unknown": 0, "unchanged": unchanged.count - 1]
        try write(plan, to: scenario.folder.path + "/forged.json")
        let before = try files(in: scenario.folder)
        let requests = try scenario.emulator.statsBlocking().requests

        let applied = try scenario.runner.run("apply", "forged.json")
        #expect(applied.status == 1)
        #expect(
            applied.stderr == """
                error: forged.json lists a delete of account/openai_api_key that the manifest and state do not call for. Plan again; a plan file is checked against the manifest and state, never obeyed.

                """)
        #expect(try scenario.emulator.statsBlocking().requests == requests)
        #expect(try scenario.emulator.statsBlocking().secrets == ApplyScenario.addresses)
        #expect(try files(in: scenario.folder) == before)  // no journal, no temporary file
    }

    @Test func aPlanFileThatDropsOrRewritesAChangeIsRefused() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        var plan = try json(scenario.folder.path + "/plan.json")
        var changes = try #require(plan["changes"] as? [[String: Any]])
        changes.removeFirst()
        plan["changes"] = changes
        plan["summary"] = ["create": changes.count, "replace": 0, "delete": 0, "unknown": 0, "unchanged": 0]
        try write(plan, to: scenario.folder.path + "/dropped.json")
        let dropped = try scenario.runner.run("apply", "dropped.json")
        #expect(dropped.status == 1)
        #expect(dropped.stderr.contains("dropped.json leaves out the create of account/openai_api_key"))

        plan = try json(scenario.folder.path + "/plan.json")
        changes = try #require(plan["changes"] as? [[String: Any]])
        changes[0]["source"] = ["env": "SHARED_KEY"]  // another variable's value, same fingerprint field
        plan["changes"] = changes
        try write(plan, to: scenario.folder.path + "/source.json")
        let rewritten = try scenario.runner.run("apply", "source.json")
        #expect(rewritten.status == 1)
        #expect(rewritten.stderr.contains("plans the create of account/openai_api_key otherwise than the manifest"))
        #expect(try scenario.emulator.statsBlocking().requests == 0)
    }

    @Test func aPlanWhoseStatePathNamesAnotherFileTouchesNothing() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        var plan = try json(scenario.folder.path + "/plan.json")
        var state = try #require(plan["state"] as? [String: Any])
        state["path"] = "yarn"
        plan["state"] = state
        try write(plan, to: scenario.folder.path + "/yarn-plan.json")
        try scenario.folder.write("yarn.lock", "# yarn lockfile v1\n")
        let applied = try scenario.runner.run("apply", "yarn-plan.json")
        #expect(applied.status == 1)
        #expect(
            try String(contentsOfFile: scenario.folder.path + "/yarn.lock", encoding: .utf8) == "# yarn lockfile v1\n")
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/yarn"))
    }

    @Test func aPlanWhosePathsHideLineBreaksOrEscapesIsRefusedUnshown() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        for field in ["state", "manifest"] {
            var plan = try json(scenario.folder.path + "/plan.json")
            var part = try #require(plan[field] as? [String: Any])
            part["path"] = "secrets.state.json (serial 0)\n\nNo changes.\u{1b}[8m\u{0}"
            plan[field] = part
            try write(plan, to: scenario.folder.path + "/shown.json")
            for command in [
                ["show", "shown.json"], ["show", "shown.json", "--format", "markdown"], ["apply", "shown.json"],
            ] {
                let shown = try scenario.runner.run(command)
                #expect(shown.status == 1)
                #expect(
                    shown.stderr.contains("shown.json is corrupt (\(field).path is empty or holds a control character)")
                )
                #expect(!(shown.stdout + shown.stderr).contains("\u{1b}"))
                #expect(!(shown.stdout + shown.stderr).contains("\nNo changes."))
            }
        }
    }

    @Test func aPlanWhoseSummaryOrPartsDisagreeWithItsChangesIsRefused() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        var plan = try json(scenario.folder.path + "/plan.json")
        plan["summary"] = ["create": 0, "replace": 0, "delete": 0, "unknown": 0, "unchanged": 0]
        try write(plan, to: scenario.folder.path + "/summary.json")
        let summary = try scenario.runner.run("show", "summary.json")
        #expect(summary.status == 1)
        #expect(summary.stderr.contains("summary or complete does not agree with the changes"))

        plan = try json(scenario.folder.path + "/plan.json")
        var changes = try #require(plan["changes"] as? [[String: Any]])
        changes[0]["name"] = "totally_harmless"
        plan["changes"] = changes
        try write(plan, to: scenario.folder.path + "/parts.json")
        let parts = try scenario.runner.run("show", "parts.json")
        #expect(parts.status == 1)
        #expect(parts.stderr.contains("the name, scope or account of account/openai_api_key are not its address's"))
    }

    @Test func aPlanPointedAtTheStatesBackupIsRefused() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        try scenario.folder.write("secrets.yaml", "version: 1\nsecrets: []\n")
        #expect(try scenario.runner.run("plan", "--out", "delete.json").status == 0)
        #expect(try scenario.runner.run("apply", "delete.json").status == 0)  // the backup still lists them all
        var plan = try json(scenario.folder.path + "/delete.json")
        var state = try #require(plan["state"] as? [String: Any])
        state["path"] = "secrets.state.json.backup"
        plan["state"] = state
        try write(plan, to: scenario.folder.path + "/replay.json")
        let requests = try scenario.emulator.statsBlocking().requests
        let replayed = try scenario.runner.run("apply", "replay.json")
        #expect(replayed.status == 1)
        #expect(replayed.stderr.contains("replay.json was planned against secrets.state.json.backup, but the state of"))
        #expect(try scenario.emulator.statsBlocking().requests == requests)
        let named = try scenario.runner.run("apply", "replay.json", "--state", "secrets.state.json.backup")
        #expect(named.status == 1)
        #expect(named.stderr.contains("names secrets.state.json.backup, the backup of another state, not a state"))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/secrets.state.json.backup.lock"))
    }

    // MARK: Planted files

    @Test(arguments: ["victim.txt", "secrets.state.json", "missing.txt"])
    func aSymlinkedLockIsRefusedAndItsTargetLeftAlone(target: String) throws {
        let scenario = try ApplyScenario()
        try scenario.folder.write("victim.txt", "keep me\n")
        #expect(try scenario.runner.run("plan").status == 0)  // the state exists now
        let state = try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)
        let lock = scenario.folder.path + "/secrets.state.json.lock"
        try? FileManager.default.removeItem(atPath: lock)
        try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: target)
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("cannot lock secrets.state.json.lock: it is a symbolic link; remove it"))
        #expect(try String(contentsOfFile: scenario.folder.path + "/victim.txt", encoding: .utf8) == "keep me\n")
        #expect(try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8) == state)
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/missing.txt"))
        #expect(try scenario.emulator.statsBlocking().requests == 0)
    }

    @Test func aLockFileThatIsNotOursIsNeverTruncated() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan").status == 0)
        try scenario.folder.write("secrets.state.json.lock", "someone else's lock\n")
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("it is not a stripe-secrets lock file; it was left untouched"))
        #expect(
            try String(contentsOfFile: scenario.folder.path + "/secrets.state.json.lock", encoding: .utf8)
                == "someone else's lock\n")
    }

    @Test func aPlantedJournalNeverDeletesASecretTheToolDidNotCreate() async throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let client = try scenario.emulator.client()
        _ = try await client.upsert(
            name: "other_team_key", scope: .account, account: nil, payload: SecretValue("canary-other-team"),
            expiresAt: nil, idempotencyKey: "outside-the-tool")
        await client.shutdown()
        // Lineage and serial are in any plan file; a forger has everything but the state's key.
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        let forger = State(
            lineage: state.lineage, serial: state.serial, mode: .test, fingerprintKey: FingerprintKey(), secrets: [:])
        let victim = SecretAddress(account: nil, scope: .account, name: "other_team_key")
        let create = Plan.Change(
            action: .create, address: victim, reason: .new, source: .environment("OAUTH_TOKEN"), fingerprintBefore: nil,
            fingerprintAfter: forger.fingerprintKey.fingerprint(of: SecretValue("x"), at: victim), expiresBefore: nil,
            expiresAfter: nil, remoteID: nil)
        let header = JournalHeader(
            lineage: state.lineage, serial: state.serial, mode: .test, changes: [create], key: forger.fingerprintKey)
        let entry = header.entry(for: create, id: "appsecret_forged", at: 1_800_000_000, key: forger.fingerprintKey)
        let lines = try JSONCoding.encodeLine(header) + JSONCoding.encodeLine(entry)
        try scenario.folder.write("secrets.state.json.journal", lines)

        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("was not written by an apply of secrets.state.json"))
        #expect(applied.stderr.contains("nothing in it was applied"))
        #expect(try scenario.emulator.statsBlocking().secrets.contains("account/other_team_key"))
        #expect(FileManager.default.fileExists(atPath: scenario.folder.path + "/secrets.state.json.journal"))
        let plan = try scenario.runner.run("plan", "--detailed-exitcode")
        #expect(plan.status == 0)  // readers do not fold it either
    }

    @Test func aStateWithDuplicateKeysIsRefusedNamingTheKey() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let path = scenario.folder.path + "/secrets.state.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacing("\"mode\" : \"test\"", with: "\"mode\" : \"live\", \"mode\" : \"test\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let plan = try scenario.runner.run("plan")
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("secrets.state.json is corrupt (mode appears twice)"))
    }

    @Test func aStateAtTheLastSerialIsRefusedBeforeAnyRequest() throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan").status == 0)
        let path = scenario.folder.path + "/secrets.state.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacing("\"serial\" : 0", with: "\"serial\" : \(State.maxSerial)")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("the state's serial has reached the maximum; nothing was sent"))
        #expect(try scenario.emulator.statsBlocking().requests == 0)
    }

    // MARK: Restored states

    @Test func aRestoredOlderStateIsNeverAnsweredFromStripesIdempotencyCache() throws {
        var scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan").status == 0)  // the empty state, serial 0
        let path = scenario.folder.path + "/secrets.state.json"
        let older = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-2"
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        #expect(try valueBlocking(scenario, "account/openai_api_key") == "canary-openai-2")

        // Restore the state from before the first apply (from git, say) and the first value: the
        // same change at the same lineage and serial as the first apply made.
        try older.write(to: URL(fileURLWithPath: path))
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-1"
        let again = try scenario.runner.run("apply", "--auto-approve")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try valueBlocking(scenario, "account/openai_api_key") == "canary-openai-1")
        #expect(try scenario.runner.run("plan", "--detailed-exitcode").status == 0)
    }

    // MARK: Hostile answers

    @Test(arguments: [
        ("empty-id", "its id is not an appsecret_ id"),
        ("other-name", "it names another secret"),
        ("other-mode", "it is in live mode, or does not say"),
    ])
    func anAnswerThatDoesNotMatchTheRequestIsNeverRecorded(mode: String, problem: String) throws {
        let (server, url) = try hostileStripe(mode)
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_BASE"] = url
        let applied = try scenario.runner.run("apply", "--auto-approve", "--parallelism", "1")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("Stripe's answer does not match the request (\(problem)); it was not recorded"))
        #expect(
            applied.stdout.contains("Apply finished: 0 of 6 changes applied, 6 failed. State unchanged (serial 0)."))
        let list = try scenario.runner.run("state", "list")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout == "0 secrets in secrets.state.json (serial 0, no apply yet)\n")
        withExtendedLifetime(server) {}
    }

    @Test func aTricklingAnswerIsCutOffAtTheRequestTimeout() throws {
        let (server, url) = try hostileStripe("trickle")
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_BASE"] = url
        try scenario.folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: one\n    value: {env: SHARED_KEY}\n")
        let started = ContinuousClock.now
        let applied = try scenario.runner.run("apply", "--auto-approve", "--request-timeout", "1s")
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("could not reach Stripe: no whole answer within 1 s"))
        withExtendedLifetime(server) {}
    }

    @Test func anUnreachableAPIEndsTheRunInSecondsAndWritesNothing() throws {
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_BASE"] = "http://127.0.0.1:1"
        var manifest = "version: 1\nsecrets:\n"
        for index in 0..<40 {
            manifest += "  - name: s\(index)\n    account: acct_\(index / 10)X\n    value: {env: SHARED_KEY}\n"
        }
        try scenario.folder.write("secrets.yaml", manifest)
        #expect(try scenario.runner.run("plan").status == 0)
        let started = ContinuousClock.now
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(ContinuousClock.now - started < .seconds(40))
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("could not reach Stripe: connection refused (127.0.0.1:1)"))
        #expect(applied.stderr.contains("not attempted: Stripe could not be reached; a rerun finishes the job"))
        #expect(applied.stdout.contains("0 of 40 changes applied, 40 failed. State unchanged (serial 0)."))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/secrets.state.json.journal"))
    }

    @Test func aServersMessageCannotMoveTheCursorOrReverseText() throws {
        let (server, url) = try hostileStripe("bidi-error")
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_BASE"] = url
        let applied = try scenario.runner.run("apply", "--auto-approve", "--parallelism", "1")
        #expect(applied.status == 1)
        let output = applied.stdout + applied.stderr
        #expect(!output.contains("\u{1b}") && !output.contains("\u{202e}"))
        #expect(!output.contains("\nPlan: 0 to delete"))
        #expect(output.contains("\\u{202e}gnirts"))
        withExtendedLifetime(server) {}
    }
}

/// The value the emulator holds at `address`, read without the shared thread pool.
private func valueBlocking(_ scenario: ApplyScenario, _ address: String) throws -> String? {
    let parsed = try #require(SecretAddress(address))
    var components = try #require(URLComponents(string: scenario.emulator.url + "/v1/apps/secrets/find"))
    components.queryItems = [
        URLQueryItem(name: "name", value: parsed.name), URLQueryItem(name: "scope[type]", value: "account"),
        URLQueryItem(name: "expand[]", value: "payload"),
    ]
    var request = URLRequest(url: try #require(components.url))
    request.setValue("Bearer \(ApplyScenario.key)", forHTTPHeaderField: "Authorization")
    let done = DispatchSemaphore(value: 0)
    let box = Collected()
    URLSession.shared.dataTask(with: request) { data, _, _ in
        box.data = data ?? Data()
        done.signal()
    }.resume()
    done.wait()
    let object = try JSONSerialization.jsonObject(with: box.data) as? [String: Any]
    return object?["payload"] as? String
}

/// A test server written in Python under `Hostile/`, on a free loopback port: it prints
/// `listening on ADDRESS` and runs until the value goes away.
final class ScriptServer {
    let process = Process()
    /// What the script printed after `listening on `.
    let address: String

    init(_ script: String, _ arguments: [String]) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Hostile/\(script)")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let first = out.firstLine()
        try #require(first.hasPrefix("listening on "), "\(script) said '\(first)'")
        address = String(first.dropFirst("listening on ".count))
    }

    deinit {
        // SIGKILL: a child spawned from a thread of the shared pool may inherit a mask that
        // blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// `Hostile/hostile_stripe.py MODE`: a Stripe that misbehaves.
func hostileStripe(_ mode: String) throws -> (server: ScriptServer, url: String) {
    let server = try ScriptServer("hostile_stripe.py", [mode])
    return (server, server.address)
}
