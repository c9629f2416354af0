import Foundation
import SecretsCore
import SecretsModel
import Testing

@testable import StateStorage

#if canImport(Glibc)
    import Glibc
#endif

/// `plan --refresh`, `plan --refresh-values`, `import` and the apply of a refreshed plan against
/// a Stripe that lists and finds wrongly (`Hostile/hostile_stripe.py`), and against forged plans.
///
/// Synchronous on purpose, like `HostileInputTests`.
@Suite struct HostileRefreshTests {
    /// A scenario whose manifest is one secret, `account/one`, and whose Stripe is `mode`.
    private func hostile(_ mode: String) throws -> (ScriptServer, ApplyScenario) {
        let (server, url) = try hostileStripe(mode)
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_BASE"] = url
        try scenario.folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: one\n    value: {env: SHARED_KEY}\n")
        return (server, scenario)
    }

    private func json(_ path: String) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    private func write(_ object: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    /// Neither a value nor anything that moves the cursor, reverses text or fakes a line.
    private func expectClean(_ outputs: [BinaryRunner.Output], _ scenario: ApplyScenario) throws {
        for output in outputs {
            let text = output.stdout + output.stderr
            #expect(!text.contains("\u{1b}") && !text.contains("\u{202e}"), "\(text)")
            #expect(!output.stderr.contains("\nPlan: ") && !output.stderr.contains("\nNo changes."), "\(text)")
        }
        try scenario.expectNoSecretIn(outputs)
    }

    // MARK: Listings and finds that do not answer the request

    @Test(arguments: [
        ("list-forever", "the listing of account goes on past 10 pages", 10),
        ("list-repeat", "the listing of account names one secret twice", 2),
        ("list-empty-more", "a page of account is empty but says more follow", 1),
        ("list-other-scope", "a secret listed in account: it is in another scope", 1),
        ("list-other-mode", "a secret listed in account: it is in live mode, or does not say", 1),
        ("list-bidi-name", "account holds a secret whose name stripe-secrets cannot show", 1),
        ("list-long-name", "account holds a secret whose name stripe-secrets cannot show", 1),
        ("list-expiry-range", "a secret listed in account has an expires_at out of range", 1),
        ("list-expiry-string", "Stripe answered 200 with a body that is not Stripe's JSON (req_hostile)", 1),
        ("list-duplicate-key", "Stripe answered 200 with a body that is not Stripe's JSON (req_hostile)", 1),
        ("list-big-page", "a page of account holds more than the 100 secrets asked for", 1),
        ("list-403", "Stripe 403 invalid_request_error: This key may not list. (req_hostile)", 1),
        ("find-other-name", "Stripe's answer does not match the request (it names another secret)", 2),
        ("find-wrong-type", "Stripe answered 200 with a body that is not Stripe's JSON (req_hostile)", 2),
    ])
    func aListingOrFindThatDoesNotAnswerTheRequestStopsThePlanAndWritesNothing(
        mode: String, problem: String, requests: Int
    ) throws {
        let (server, scenario) = try hostile(mode)
        #expect(try scenario.runner.run("plan").status == 0)  // the state exists now
        let state = try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)
        let started = ContinuousClock.now
        let planned = try scenario.runner.run("plan", "--refresh-values", "--out", "plan.json")
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(planned.status == 1)
        #expect(planned.stderr.contains(problem), "\(planned.stderr)")
        #expect(try server.stats() == (requests, 0))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/plan.json"))

        let imported = try scenario.runner.run("import", "--all")
        #expect(imported.status == 1)
        #expect(imported.stderr.contains(problem), "\(imported.stderr)")
        #expect(try server.stats().posts == 0)
        #expect(try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8) == state)
        try expectClean([planned, imported], scenario)
    }

    @Test func anEnormousListingIsAnErrorInBoundedTime() throws {
        let (server, scenario) = try hostile("list-huge")
        let started = ContinuousClock.now
        let planned = try scenario.runner.run("plan", "--refresh")
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(planned.status == 1)
        #expect(
            planned.stderr.contains("Stripe answered 200 with a body that is not Stripe's JSON (req_hostile)"),
            "\(planned.stderr)")
        #expect(try server.stats() == (1, 0))  // not retried: the same answer would come again
        try expectClean([planned], scenario)
    }

    @Test func aListingsErrorMessageCannotFakeALineOfThePlan() throws {
        let (server, scenario) = try hostile("list-error-lines")
        let planned = try scenario.runner.run("plan", "--refresh")
        #expect(planned.status == 1)
        #expect(planned.stderr.contains("Stripe 400 invalid_request_error: bad\\u{a}\\u{a}No changes."))
        #expect(planned.stderr.contains("(param: scope\\u{a}Plan: 0 to create)"))
        #expect(planned.stderr.components(separatedBy: "\n").count == 2, "\(planned.stderr)")
        try expectClean([planned], scenario)
        withExtendedLifetime(server) {}
    }

    @Test func aFindWhoseErrorQuotesThePayloadNeverShowsIt() throws {
        let (server, scenario) = try hostile("find-echo")
        let planned = try scenario.runner.run("plan", "--refresh-values")
        let imported = try scenario.runner.run("import", "account/one")
        for output in [planned, imported] {
            #expect(output.status == 1)
            #expect(
                output.stderr.contains(
                    "Stripe 400 invalid_request_error (parameter_invalid_string): (withheld: an answer to a read of a "
                        + "value) (param: (withheld: an answer to a read of a value)) (req_hostile)"),
                "\(output.stderr)")
        }
        #expect(try server.stats() == (4, 0))
        try expectClean([planned, imported], scenario)
    }

    @Test func aPayloadInAListingIsNeverKeptOrShown() throws {
        let (server, scenario) = try hostile("list-payload")
        let planned = try scenario.runner.run("plan", "--refresh", "--format", "json", "--out", "plan.json")
        #expect(planned.status == 0, "\(planned.stderr)")
        let change = try #require((try json(scenario.folder.path + "/plan.json")["changes"] as? [[String: Any]])?.first)
        #expect(change["reason"] as? String == "untracked_in_stripe")
        #expect((change["in_stripe"] as? [String: Any])?["fingerprint"] is NSNull)
        #expect(try server.stats() == (1, 0))
        try expectClean([planned], scenario)
    }

    @Test func aKeyRefusedOnFindsIsNotedOnceAndThePlanCarriesOnAsRefresh() throws {
        let (server, scenario) = try hostile("find-403")
        let planned = try scenario.runner.run("plan", "--refresh-values", "--out", "plan.json")
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(planned.stderr.components(separatedBy: "may not read secret values").count == 2)
        #expect(planned.stdout.contains("Refreshed 1 scope from Stripe (2 requests)."))
        #expect(try json(scenario.folder.path + "/plan.json")["refresh"] as? String == "secrets")
        #expect(try server.stats() == (2, 0))
        try expectClean([planned], scenario)
    }

    // MARK: Keys and modes

    @Test func aKeyOfTheOtherModeIsRefusedBeforeAnyCall() throws {
        var scenario = try ApplyScenario().applied()
        #expect(try scenario.runner.run("plan", "--refresh", "--out", "plan.json").status == 0)
        let requests = try scenario.emulator.statsBlocking().requests
        scenario.runner.environment["STRIPE_API_KEY"] = "sk_live_fakeOTHERMODE"
        for command in [
            ["plan", "--refresh"], ["plan", "--refresh-values"], ["import", "--all"], ["apply", "plan.json"],
        ] {
            let output = try scenario.runner.run(command)
            #expect(output.status == 1)
            #expect(output.stderr.contains("secrets.state.json belongs to test mode but STRIPE_API_KEY is a live key"))
        }
        #expect(try scenario.emulator.statsBlocking().requests == requests)
    }

    @Test func aValuesPlanAppliedWithAKeyThatMayNotReadValuesIsRefusedBeforeAnyWrite() throws {
        var scenario = try ApplyScenario(emulatorOptions: ["--payloadless-key", "rk_test_noValues0123"]).applied()
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-2"
        #expect(try scenario.runner.run("plan", "--refresh-values", "--out", "plan.json").status == 0)
        scenario.runner.environment["STRIPE_API_KEY"] = "rk_test_noValues0123"
        let before = try scenario.emulator.statsBlocking()
        let applied = try scenario.runner.run("apply", "plan.json")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("plan.json was planned with --refresh-values, but this key may not read"))
        // The listings and the one refused find: no write.
        #expect(try scenario.emulator.statsBlocking().requests == before.requests + ApplyScenario.scopeCount + 1)
        try scenario.expectNoSecretIn([applied])
    }

    // MARK: Forged refreshed plans

    @Test func aRefreshedPlanForgedToClaimWhatStripeHoldsIsRefusedBeforeAnyWrite() async throws {
        let scenario = try ApplyScenario().applied()
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-changed-in-stripe")
        #expect(try scenario.runner.run("plan", "--refresh-values", "--out", "plan.json").status == 0)
        let original = try json(scenario.folder.path + "/plan.json")
        let forgeries: [(String, (inout [String: Any]) -> Void, String)] = [
            (
                "fingerprint",
                { plan in
                    var changes = plan["changes"] as? [[String: Any]] ?? []
                    var seen = changes[0]["in_stripe"] as? [String: Any] ?? [:]
                    seen["fingerprint"] = String(repeating: "b", count: 64)
                    changes[0]["in_stripe"] = seen
                    plan["changes"] = changes
                },
                "plans the replace of account/openai_api_key otherwise than the manifest, state and Stripe call for"
            ),
            (
                "reason",
                { plan in
                    var changes = plan["changes"] as? [[String: Any]] ?? []
                    changes[0]["reason"] = "missing_in_stripe"
                    plan["changes"] = changes
                },
                "the change to account/openai_api_key does not hang together (replace, missing_in_stripe)"
            ),
            (
                "offline",
                { plan in plan["refresh"] = "offline" },
                "the change to account/openai_api_key does not hang together (replace, changed_in_stripe)"
            ),
            (
                "secrets",
                { plan in plan["refresh"] = "secrets" },
                "lists a replace of account/openai_api_key that the manifest, state and Stripe do not call for"
            ),
        ]
        for (name, forge, problem) in forgeries {
            var plan = original
            forge(&plan)
            try write(plan, to: scenario.folder.path + "/\(name).json")
            let before = try scenario.emulator.statsBlocking()
            let applied = try scenario.runner.run("apply", "\(name).json")
            #expect(applied.status == 1)
            #expect(applied.stderr.contains(problem), "\(name): \(applied.stderr)")
            let after = try scenario.emulator.statsBlocking()
            #expect(after.secrets == before.secrets)
            #expect(after.requests - before.requests <= ApplyScenario.scopeCount + 6)  // reads only
        }
        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-changed-in-stripe")
    }

    // MARK: Import

    @Test func anImportRacingAnApplyIsRefusedByTheLockAndWritesNothing() throws {
        // Writes trickle, so the apply holds the lock; reads answer at once.
        let (server, scenario) = try hostile("trickle")
        #expect(try scenario.runner.run("plan").status == 0)
        let state = try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)
        let running = try scenario.runner.start("apply", "--auto-approve", "--request-timeout", "20s")
        let journal = scenario.folder.path + "/secrets.state.json.journal"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: journal) { usleep(5_000) }
        let imported = try scenario.runner.run("import", "account/one")
        kill(running.process.processIdentifier, SIGKILL)
        _ = running.wait()
        #expect(imported.status == 1)
        #expect(imported.stderr.contains("secrets.state.json is locked"), "\(imported.stderr)")
        #expect(try server.stats().requests == 1)  // the apply's write; the import asked nothing
        #expect(try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8) == state)
    }

    @Test func importRefusesWhatIsAlreadyInTheStateOrInAnotherMode() throws {
        let scenario = try ApplyScenario().applied()
        let recorded = try scenario.runner.run("import", "account/openai_api_key")
        #expect(recorded.status == 1)
        #expect(recorded.stderr.contains("account/openai_api_key is already in secrets.state.json"))

        let (server, other) = try hostile("list-other-mode")
        let imported = try other.runner.run("import", "account/one")
        #expect(imported.status == 1)
        #expect(imported.stderr.contains("it is in live mode, or does not say"))
        #expect(!FileManager.default.fileExists(atPath: other.folder.path + "/secrets.state.json"))
        withExtendedLifetime(server) {}
    }

    @Test func aStateImportedWithoutValuesIsReadByEveryReader() throws {
        let scenario = try ApplyScenario(emulatorOptions: [
            "--payloadless-key", "rk_test_noValues0123", "--latency", "300ms",
        ])
        .applied()
        let path = scenario.folder.path + "/secrets.state.json"
        try FileManager.default.removeItem(atPath: path)
        var restricted = scenario.runner
        restricted.environment["STRIPE_API_KEY"] = "rk_test_noValues0123"
        #expect(try restricted.run("import", "--all").status == 0)
        let imported = try #require(try FileStateBackend(path: path).load())
        #expect(imported.secrets.values.allSatisfy { $0.fingerprint == nil })
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains("\"fingerprint\""))

        let list = try scenario.runner.run("state", "list")
        #expect(list.stdout.hasSuffix("6 secrets in secrets.state.json (serial 1, test mode)\n"), "\(list.stderr)")
        let pulled = try scenario.runner.run("state", "pull")
        #expect(pulled.status == 0)
        try scenario.folder.write("pulled.json", pulled.stdout)
        let pushed = try scenario.runner.run("state", "push", "pulled.json", "--state", "copy.state.json")
        #expect(pushed.status == 0, "\(pushed.stderr)")
        for arguments in [["plan"], ["plan", "--refresh"], ["plan", "--refresh-values"]] {
            let plan = try scenario.runner.run(arguments + ["--format", "json"])
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(plan.stdout.components(separatedBy: "\"value_unknown_since_import\"").count - 1 == 6)
        }

        // An apply killed midway leaves a journal over this state; readers and the next apply fold it.
        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        let journal = path + ".journal"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
            ((try? String(contentsOfFile: journal, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2
        {
            usleep(5_000)
        }
        kill(running.process.processIdentifier, SIGKILL)
        _ = running.wait()
        let folded = try scenario.runner.run("plan")
        #expect(folded.status == 0)
        #expect(folded.stdout.contains("value unknown since import"))
        let resumed = try scenario.runner.run("apply", "--auto-approve")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try scenario.runner.run("plan", "--refresh-values", "--detailed-exitcode").status == 0)
        try scenario.expectNoSecretIn([list, pulled, pushed, folded, resumed])
    }
}

extension ScriptServer {
    /// What `hostile_stripe.py` counted: its `/v1` requests, and how many were POSTs.
    func stats() throws -> (requests: Int, posts: Int) {
        let data = try Data(contentsOf: URL(string: address + "/_stats")!)
        let stats = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Int])
        return (try #require(stats["requests"]), try #require(stats["posts"]))
    }
}
