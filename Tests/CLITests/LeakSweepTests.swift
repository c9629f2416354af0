import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A folder, a manifest and a set of canaries made up for this run: a value from a variable, a
/// value from a file, a rotated value, the API key and its live, restricted and malformed
/// siblings, and a kept-apart fingerprint key. Every run of the binary is recorded with the
/// files it left, and `finish` checks that no canary shows anywhere.
final class LeakScenario {
    static let manifest = """
        version: 1
        secrets:
          - name: api_token
            value: {env: LEAK_VALUE}
          - name: signing_key
            value: {file: keys/signing.pem}
            expires_at: 2099-06-30T00:00:00Z
          - name: user_token
            scope: {type: user, user: usr_LeakSweep1}
            value: {env: LEAK_VALUE}
          - name: partner_token
            account: acct_1LeakSweep
            value: {env: LEAK_VALUE}

        """
    /// Files that hold a canary on purpose, relative to the folder.
    var inputs: Set<String> = ["keys/signing.pem", "fingerprint.key", "api.key"]

    let value = Canary("value", "Canary \(Canary.token(24))/+\"%é&=")
    let fileValue = Canary("file value", "file-\(Canary.token(24))")
    let rotated = Canary("rotated value", "rotated \(Canary.token(24))!")
    let key = Canary("API key", "sk_test_fake\(Canary.token(24))")
    let liveKey = Canary("live key", "sk_live_fake\(Canary.token(16))")
    let restrictedKey = Canary("restricted key", "rk_test_fake\(Canary.token(24))")
    let malformedKey = Canary("malformed key", "sk_test_fake\(Canary.token(20))-x")
    let fingerprintKey: Canary

    let folder: TemporaryFolder
    /// Where the emulators' output goes, outside the tool's folder.
    let logs: TemporaryFolder
    var runner: BinaryRunner
    let evidence: LeakEvidence
    private var steps = 0

    /// A scenario whose sweep also looks for `extra` canaries (a password the test was given).
    init(extra: [Canary] = []) throws {
        let keyBytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        fingerprintKey = Canary("fingerprint key", Data(keyBytes).base64EncodedString(), raw: keyBytes)
        folder = try TemporaryFolder()
        logs = try TemporaryFolder()
        evidence = LeakEvidence(
            [value, fileValue, rotated, key, liveKey, restrictedKey, malformedKey, fingerprintKey] + extra)
        runner = BinaryRunner(
            environment: ["STRIPE_API_KEY": key.text, "LEAK_VALUE": value.text], directory: folder.path)
        try folder.write("secrets.yaml", Self.manifest)
        try folder.write("keys/signing.pem", fileValue.text + "\n")
        try folder.write("fingerprint.key", fingerprintKey.text + "\n")
    }

    /// An emulator whose output is kept, and which the runner talks to from now on.
    func emulator(_ options: [String] = []) throws -> EmulatorProcess {
        let emulator = try EmulatorProcess(arguments: options, logFolder: logs.path)
        runner.environment["STRIPE_API_BASE"] = emulator.url
        return emulator
    }

    /// Runs the binary, records what it printed and every file it left, and checks that the
    /// step really happened: its exit status, and `says` in its output.
    @discardableResult
    func step(
        _ arguments: String..., status: Int32, says: String, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> BinaryRunner.Output {
        let output = try run(arguments, environment: environment).wait()
        check(output, arguments, status: status, says: says, sourceLocation: sourceLocation)
        return output
    }

    /// Runs the binary against a faulty emulator until it ends with anything but 1 (at most
    /// `attempts` times), records every run, and checks the last as `step` checks: each call
    /// there may fail every one of its retries, and the next run does what is left.
    func stepThroughFaults(
        _ arguments: String..., attempts: Int = 8, status: Int32, says: String,
        environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for attempt in 1...attempts {
            let output = try run(arguments, environment: environment).wait()
            if output.status == 1, attempt < attempts {
                record(output, arguments)
                continue
            }
            check(output, arguments, status: status, says: says, sourceLocation: sourceLocation)
            return
        }
    }

    /// Starts the binary without waiting; `finish(_:…)` records it.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> BinaryRunner.Running {
        var runner = runner
        runner.environment.merge(environment) { _, new in new }
        return try runner.start(arguments)
    }

    /// Records a started run once it has ended, checked as `step` checks.
    func check(
        _ output: BinaryRunner.Output, _ arguments: [String], status: Int32, says: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let label = record(output, arguments)
        #expect(output.status == status, "\(label): \(output.stderr)", sourceLocation: sourceLocation)
        #expect(
            (output.stdout + output.stderr).contains(says), "\(label) did not say '\(says)': \(output.stdout)",
            sourceLocation: sourceLocation)
    }

    /// Records what a run printed and every file it left, under a label naming the step.
    @discardableResult
    private func record(_ output: BinaryRunner.Output, _ arguments: [String]) -> String {
        steps += 1
        let label = "step \(steps) (\(arguments.prefix(3).joined(separator: " ")))"
        evidence.record(label, output)
        evidence.recordFiles(in: folder.path, after: label, except: inputs)
        return label
    }

    /// Records the emulators' output, then checks every record for every canary, and that the
    /// short fingerprints shown are no slice of a canary.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for log in try FileManager.default.contentsOfDirectory(atPath: logs.path) {
            let bytes = try #require(FileManager.default.contents(atPath: logs.path + "/" + log))
            evidence.record("the emulator's \(log)", Array(bytes))
        }
        let leaks = evidence.leaks()
        #expect(leaks.isEmpty, "\(leaks.joined(separator: "\n"))", sourceLocation: sourceLocation)
        for fingerprint in evidence.shortFingerprints {
            for canary in evidence.canaries {
                let hex = canary.raw.map { String(format: "%02x", $0) }.joined()
                #expect(
                    !hex.contains(fingerprint) && !canary.text.lowercased().contains(fingerprint),
                    "fp \(fingerprint) is a slice of the \(canary.label)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// The leak sweep: canaries flow through every command, in success and in failure, and none may
/// show in any output, file, log or database the run touched.
///
/// Synchronous on purpose, like the kill test in `ApplyCommandTests`.
@Suite struct LeakSweepTests {
    @Test func everyCommandSucceedsWithoutShowingACanary() throws {
        let sweep = try LeakScenario()
        let emulator = try sweep.emulator(["--latency", "100ms", "--payloadless-key", sweep.restrictedKey.text])
        try sweep.step("--help", status: 0, says: "force-unlock")
        try sweep.step("validate", status: 0, says: "4 secrets in 3 scopes")
        try sweep.step("validate", "--skip-values", status: 0, says: "4 secrets")
        try sweep.step("schema", status: 0, says: "\"$schema\"")
        try sweep.step("plan", status: 0, says: "Plan: 4 to create")
        try sweep.step("plan", "--format", "markdown", status: 0, says: "4 to create")
        try sweep.step("plan", "--format", "json", status: 0, says: "\"fingerprint_after\"")
        try sweep.step("plan", "--out", "plan.json", status: 0, says: "Saved to plan.json")
        for format in ["text", "markdown", "json"] {
            try sweep.step("show", "plan.json", "--format", format, status: 0, says: "account/api_token")
        }

        // The lock, read while an apply holds it: the kernel lock ends with the run and the file
        // is emptied.
        let lock = sweep.folder.path + "/secrets.state.json.lock"
        let applying = try sweep.run(["apply", "plan.json", "--parallelism", "1"])
        let deadline = ContinuousClock.now + .seconds(30)
        var holder = Data()
        while ContinuousClock.now < deadline, holder.isEmpty, applying.process.isRunning {
            holder = FileManager.default.contents(atPath: lock) ?? Data()
            usleep(2_000)
        }
        #expect(String(decoding: holder, as: UTF8.self).contains("apply"), "the lock was never seen held")
        sweep.evidence.record("the lock while held", Array(holder))
        sweep.check(applying.wait(), ["apply", "plan.json"], status: 0, says: "4 of 4 changes applied")

        try sweep.step("apply", "--auto-approve", status: 0, says: "No changes to apply")
        let rotated = ["LEAK_VALUE": sweep.rotated.text]
        try sweep.step("plan", status: 0, says: "value changed (fp ", environment: rotated)
        try sweep.step("apply", "--auto-approve", status: 0, says: "replaced", environment: rotated)
        try sweep.step("plan", "--refresh", status: 0, says: "No changes", environment: rotated)
        try sweep.step("plan", "--refresh-values", status: 0, says: "No changes", environment: rotated)
        try sweep.step("plan", "--refresh-values", status: 0, says: "changed", environment: [:])
        try sweep.step("state", "list", status: 0, says: "4 secrets in secrets.state.json")
        let pulled = try sweep.step("state", "pull", status: 0, says: "stripe-secrets-state")
        try sweep.folder.write("pulled.json", pulled.stdout)
        try sweep.step("state", "push", "pulled.json", "--force", status: 0, says: "Pushed pulled.json")

        // Import with the value read (its fingerprint kept), and with a key that may not read it.
        try sweep.step("state", "rm", "account/api_token", status: 0, says: "Forgot 1 secret")
        try sweep.step("import", "--all", status: 0, says: "1 secret imported", environment: rotated)
        try sweep.step("state", "rm", "account/api_token", status: 0, says: "Forgot 1 secret")
        try sweep.step(
            "import", "--all", status: 0, says: "1 secret imported",
            environment: ["STRIPE_API_KEY": sweep.restrictedKey.text])
        try sweep.step(
            "plan", "--refresh-values", status: 0, says: "account/api_token",
            environment: ["STRIPE_API_KEY": sweep.restrictedKey.text])

        // A kept-apart fingerprint key, given by a file and by the variable.
        try sweep.step(
            "state", "rekey", "--new-key-file", "fingerprint.key", status: 0, says: "the key is now kept apart",
            environment: rotated)
        let keptApart = ["STRIPE_SECRETS_FINGERPRINT_KEY": sweep.fingerprintKey.text]
        try sweep.step("plan", status: 0, says: "account/api_token", environment: keptApart)
        try sweep.step("apply", "--auto-approve", status: 0, says: "Apply finished", environment: keptApart)
        try sweep.step("state", "list", status: 0, says: "4 secrets", environment: keptApart)
        try sweep.step("plan", status: 1, says: "keeps its fingerprint key apart")
        try sweep.step("force-unlock", status: 0, says: "not locked")
        try sweep.step("apply", "--auto-approve", "--api-key-file", "api.key", status: 1, says: "api.key")
        try sweep.folder.write("api.key", sweep.key.text + "\n")
        try sweep.step(
            "apply", "--auto-approve", "--api-key-file", "api.key", status: 0, says: "No changes",
            environment: keptApart.merging(["STRIPE_API_KEY": ""]) { $1 })
        withExtendedLifetime(emulator) {}
        try sweep.finish()
        #expect(!sweep.evidence.shortFingerprints.isEmpty)
        for file in [
            "secrets.state.json after", "secrets.state.json.backup after", "plan.json after", "the emulator's",
        ] {
            #expect(sweep.evidence.items.contains { $0.label.hasPrefix(file) }, "nothing recorded of \(file)")
        }
    }
}

extension LeakSweepTests {
    @Test func everyFailureStopsWithoutShowingACanary() throws {
        let sweep = try LeakScenario()
        // A value file given where a plan, a manifest or a state belongs.
        let pem = "keys/signing.pem"
        try sweep.step("show", pem, status: 1, says: "is not a stripe-secrets plan file")
        try sweep.step("validate", "-f", pem, status: 1, says: "must be a mapping of 'key: value' lines, not text")
        try sweep.step("plan", "--state", pem, status: 1, says: "is not a stripe-secrets state file")
        try sweep.step("state", "push", pem, status: 1, says: "is not a stripe-secrets state file")
        try sweep.step("validate", status: 1, says: "LEAK_VALUE is empty", environment: ["LEAK_VALUE": ""])
        let revoked = try sweep.emulator(["--revoked-key", sweep.key.text])
        try sweep.step("apply", "--auto-approve", status: 1, says: "Stripe 401")
        try sweep.step("plan", "--refresh-values", status: 1, says: "Stripe 401")
        try sweep.step("import", "--all", status: 1, says: "Stripe 401")
        withExtendedLifetime(revoked) {}

        // Faults: answers of 500 and 429, and connections dropped after the request ran. A call
        // may fail all its attempts (one in 400), so each run is repeated until it converges.
        let faulty = try sweep.emulator(["--fail-rate", "0.3", "--drop-rate", "0.1"])
        try sweep.stepThroughFaults("apply", "--auto-approve", status: 0, says: "changes applied")
        try sweep.stepThroughFaults("plan", "--refresh-values", "--detailed-exitcode", status: 0, says: "No changes")
        withExtendedLifetime(faulty) {}

        // Keys: of the other mode, malformed (from the variable and from a file).
        for key in [sweep.liveKey, sweep.malformedKey] {
            let says = key.label == "live key" ? "is a live key" : "is not a Stripe secret or restricted key"
            let environment = ["STRIPE_API_KEY": key.text, "LEAK_VALUE": sweep.rotated.text]
            try sweep.step("apply", "--auto-approve", status: 1, says: says, environment: environment)
            try sweep.step("plan", "--refresh-values", status: 1, says: says, environment: environment)
            try sweep.step("import", "--all", status: 1, says: says, environment: environment)
        }
        try sweep.folder.write("api.key", sweep.malformedKey.text)
        try sweep.step(
            "apply", "--auto-approve", "--api-key-file", "api.key", status: 1, says: "not a Stripe secret",
            environment: ["LEAK_VALUE": sweep.rotated.text])

        // Plans: made stale, tampered with, or outrun by a changed value.
        let steady = try sweep.emulator()
        let rotated = ["LEAK_VALUE": sweep.rotated.text]
        try sweep.step("plan", "--out", "stale.json", status: 0, says: "3 to replace", environment: rotated)
        try sweep.step("plan", "--out", "tampered.json", status: 0, says: "3 to replace", environment: rotated)
        try sweep.step("apply", "stale.json", status: 1, says: "that the manifest and state do not call for")
        let path = sweep.folder.path + "/tampered.json"
        var plan = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var changes = try #require(plan["changes"] as? [[String: Any]])
        changes[0]["fingerprint_after"] = String(repeating: "0", count: 64)
        plan["changes"] = changes
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: path))
        try sweep.step(
            "apply", "tampered.json", status: 1, says: "changed since tampered.json was made", environment: rotated)
        try sweep.step("apply", "--auto-approve", status: 0, says: "3 of 3 changes applied", environment: rotated)
        try sweep.step("apply", "stale.json", status: 1, says: "is stale", environment: rotated)
        try sweep.step(
            "plan", "--refresh-values", status: 1, says: "could not reach Stripe",
            environment: ["STRIPE_API_BASE": "http://127.0.0.1:1"])
        withExtendedLifetime(steady) {}

        // An outage: the API dies in the middle of an apply, whose journal is read while it runs
        // (each call takes a second, so two are left when the first is journalled).
        let outage = try sweep.emulator(["--latency", "1s"])
        let journal = sweep.folder.path + "/secrets.state.json.journal"
        let applying = try sweep.run(["apply", "--auto-approve", "--parallelism", "1"])
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
            ((try? String(contentsOfFile: journal, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2
        {
            usleep(5_000)
        }
        sweep.evidence.record(
            "the journal while applying", Array(FileManager.default.contents(atPath: journal) ?? Data()))
        kill(outage.process.processIdentifier, SIGKILL)
        sweep.check(applying.wait(), ["apply", "--auto-approve"], status: 1, says: "could not reach Stripe")
        try sweep.step("plan", status: 0, says: "Plan:")
        #expect(sweep.evidence.items.contains { $0.label == "the journal while applying" && $0.bytes.count > 0 })
        try sweep.finish()
    }
}

extension LeakSweepTests {
    /// A value pasted where the manifest wants a word: a value, a key, a scope, an id, a time.
    @Test func aManifestWithACanaryWhereAWordBelongsNeverShowsIt() throws {
        let sweep = try LeakScenario()
        sweep.inputs.insert("secrets.yaml")
        let value = sweep.value.text.replacing("\"", with: "\\\"")
        let places = [
            "value: \"\(value)\"", "\"\(value)\": 1\n    value: {env: LEAK_VALUE}",
            "value: {env: LEAK_VALUE, \"\(value)\": 1}", "scope: \"\(value)\"\n    value: {env: LEAK_VALUE}",
            "scope: {type: \"\(value)\"}\n    value: {env: LEAK_VALUE}",
            "scope: {type: \(sweep.key.text)}\n    value: {env: LEAK_VALUE}",
            "scope: {type: user, user: \"\(value)\"}\n    value: {env: LEAK_VALUE}",
            "account: \(sweep.key.text)\n    value: {env: LEAK_VALUE}",
            "accounts: [\"\(value)\"]\n    value: {env: LEAK_VALUE}",
            "expires_at: \"\(value)\"\n    value: {env: LEAK_VALUE}",
            "protect: \"\(value)\"\n    value: {env: LEAK_VALUE}",
        ]
        for (index, place) in places.enumerated() {
            try sweep.folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: s\(index)\n    \(place)\n")
            for command in [["validate"], ["plan"], ["apply", "--auto-approve"]] {
                let output = try sweep.run(command).wait()
                sweep.check(output, command, status: 1, says: "secrets.yaml:4:")
            }
        }
        try sweep.finish()
    }
}

/// The leak sweep against a state in PostgreSQL: the database itself, dumped, and the server's
/// log are searched too, as is every output for the database's password.
@Suite(
    .disabled(
        if: PostgresCluster.skipReason != nil,
        "PostgreSQL server binaries not found: install Debian's postgresql package, or set STRIPE_SECRETS_PG_BIN"))
struct DatabaseLeakSweepTests {
    @Test func aDatabaseStateHoldsNoCanary() throws {
        let cluster = try PostgresCluster.shared.get()
        let database = "leak_" + UUID().uuidString.prefix(8).lowercased()
        try cluster.createDatabase(database)
        let sweep = try LeakScenario(extra: [Canary("PostgreSQL password", cluster.password)])
        sweep.runner.environment["STRIPE_SECRETS_STATE"] = cluster.url(database: database)
        sweep.runner.environment["PGPASSWORD"] = cluster.password
        let emulator = try sweep.emulator(["--latency", "400ms", "--payloadless-key", sweep.restrictedKey.text])
        try sweep.step("plan", "--out", "plan.json", status: 0, says: "Plan: 4 to create")
        try sweep.step("apply", "plan.json", status: 0, says: "4 of 4 changes applied")
        let rotated = ["LEAK_VALUE": sweep.rotated.text]
        try sweep.step("plan", "--refresh-values", status: 0, says: "value changed (fp ", environment: rotated)
        try sweep.step("state", "list", status: 0, says: "4 secrets in postgres://")
        let pulled = try sweep.step("state", "pull", status: 0, says: "stripe-secrets-state")
        try sweep.folder.write("pulled.json", pulled.stdout)
        try sweep.step("state", "push", "pulled.json", "--force", status: 0, says: "Pushed pulled.json")
        try sweep.step("state", "rm", "account/api_token", status: 0, says: "Forgot 1 secret")
        try sweep.step("import", "--all", status: 0, says: "1 secret imported")
        try sweep.step("state", "rm", "account/api_token", status: 0, says: "Forgot 1 secret")
        try sweep.step(
            "import", "--all", status: 0, says: "1 secret imported",
            environment: ["STRIPE_API_KEY": sweep.restrictedKey.text])
        try sweep.step("force-unlock", status: 0, says: "postgres://")
        try sweep.step("state", "rekey", "--new-key-file", "fingerprint.key", status: 0, says: "kept apart")

        // An apply killed in the middle leaves journal rows; the next apply folds them in.
        let keptApart = ["STRIPE_SECRETS_FINGERPRINT_KEY": sweep.fingerprintKey.text, "LEAK_VALUE": sweep.rotated.text]
        let applying = try sweep.run(["apply", "--auto-approve", "--parallelism", "1"], environment: keptApart)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
            (try? cluster.psql("SELECT count(*) FROM stripe_secrets.journal_entries", database: database)) ?? "0" == "0"
        {
            usleep(20_000)
        }
        // Killed first: its journal rows outlive it, and the apply cannot finish while the dump runs.
        kill(applying.process.processIdentifier, SIGKILL)
        _ = applying.wait()
        sweep.evidence.record("the database while applying", Array(try cluster.dump(database: database).utf8))
        try sweep.step("apply", "--auto-approve", status: 0, says: "Apply finished", environment: keptApart)
        try sweep.step("plan", "--detailed-exitcode", status: 0, says: "No changes", environment: keptApart)
        withExtendedLifetime(emulator) {}

        let dump = try cluster.dump(database: database)
        #expect(dump.contains("stripe-secrets-state") && dump.contains("journal"))
        sweep.evidence.record("the database", Array(dump.utf8))
        let log = try #require(FileManager.default.contents(atPath: cluster.folder + "/server.log"))
        sweep.evidence.record("the server's log", Array(log))
        #expect(sweep.evidence.items.contains { $0.label == "the database while applying" && $0.bytes.count > 0 })
        try sweep.finish()
    }
}

/// The sweep's own check can fail: a canary in any form it claims to catch is found, and text
/// without one is not.
@Suite struct LeakEvidenceTests {
    @Test func aCanaryIsFoundInEveryFormAndNothingElseIs() throws {
        let canary = Canary("value", "Canary \(Canary.token(24))/+\"%é&=")
        let bytes = Array(canary.text.utf8)
        let json = String(decoding: try JSONEncoder().encode([canary.text]), as: UTF8.self)
        let forms: [String] = [
            "plain " + canary.text,
            canary.text.uppercased(),
            "…" + String(canary.text.dropFirst(9).prefix(10)) + "…",
            canary.text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "",
            json,
            bytes.map { String(format: "%02X", $0) }.joined(),
            Data(bytes).base64EncodedString(),
            Data([1] + bytes).base64EncodedString(),
            Data([1, 2] + bytes).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_"),
        ]
        for form in forms {
            let evidence = LeakEvidence([canary])
            evidence.record("planted", Array(("x: " + form + " :y").utf8))
            #expect(!evidence.leaks().isEmpty, "not found in \(form)")
        }
        let clean = LeakEvidence([canary])
        clean.record("clean", Array("another \(Canary.token(24))/+\"%é&= fp 1234abcd".utf8))
        #expect(clean.leaks().isEmpty)
    }
}
