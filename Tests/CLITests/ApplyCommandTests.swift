import Foundation
import SecretsCore
import SecretsModel
@testable import StateStorage
import StripeAPI
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A manifest over every kind of address, applied through the built binary to the emulator.
struct ApplyScenario {
    static let key = "sk_test_canaryKEY0123456789"
    static let manifest = """
        version: 1
        secrets:
          - name: openai_api_key
            value: {env: OPENAI_API_KEY}
          - name: webhook_signing_key
            value: {file: keys/webhook.pem}
            expires_at: 2099-06-30T00:00:00Z
          - name: oauth_token
            scope: {type: user, user: usr_OkDR2bKzwpXu3s}
            value: {env: OAUTH_TOKEN}
          - name: partner_token
            account: acct_1Partner
            value: {env: OAUTH_TOKEN}
          - name: shared_config_key
            accounts: [acct_1Alpha, acct_1Beta]
            value: {env: SHARED_KEY}

        """

    /// Every address the manifest declares, sorted as the emulator's stats list them.
    static let addresses = [
        "account/openai_api_key", "account/webhook_signing_key", "acct_1Alpha/account/shared_config_key",
        "acct_1Beta/account/shared_config_key", "acct_1Partner/account/partner_token",
        "user:usr_OkDR2bKzwpXu3s/oauth_token",
    ]

    let folder: TemporaryFolder
    let emulator: EmulatorProcess
    var runner: BinaryRunner

    init(emulatorOptions: [String] = []) throws {
        folder = try TemporaryFolder()
        emulator = try EmulatorProcess(arguments: emulatorOptions)
        runner = BinaryRunner(
            environment: [
                "STRIPE_API_BASE": emulator.url, "STRIPE_API_KEY": Self.key, "OPENAI_API_KEY": "canary-openai-1",
                "OAUTH_TOKEN": "canary-oauth-1", "SHARED_KEY": "canary-shared-1",
            ],
            directory: folder.path)
        try folder.write("secrets.yaml", Self.manifest)
        try folder.write("keys/webhook.pem", "canary-webhook-1\n")
    }

    /// The value the emulator holds for an address, or nil.
    func remoteValue(_ address: String) async throws -> String? {
        let parsed = try #require(SecretAddress(address))
        let client = try emulator.client()
        defer { Task { await client.shutdown() } }
        return try await client.find(
            name: parsed.name, scope: parsed.scope, account: parsed.account, expandPayload: true)?
            .payload?.plaintext
    }

    func expectNoSecretIn(_ outputs: [BinaryRunner.Output]) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") || $0.contains(".state.") }
            .map { try String(contentsOfFile: folder.path + "/" + $0, encoding: .utf8) }
        for text in files + outputs.flatMap({ [$0.stdout, $0.stderr] }) {
            #expect(!text.contains("canary"), "a value or the key leaked: \(text.prefix(300))")
        }
    }
}

@Suite struct ApplyCommandTests {
    @Test func applyCreatesEverySecretAndASecondApplySendsNothing() async throws {
        let scenario = try ApplyScenario()
        let plan = try scenario.runner.run("plan", "--out", "plan.json")
        let apply = try scenario.runner.run("apply", "plan.json")
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.hasPrefix("Applying 6 changes to test mode (parallelism 8, ≤ 25 requests/s)\n"))
        #expect(apply.stdout.components(separatedBy: "\ncreated ").count - 1 == 6)
        #expect(apply.stdout.hasSuffix("\nApply finished: 6 of 6 changes applied. State saved (serial 1).\n"))

        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-openai-1")
        #expect(try await scenario.remoteValue("account/webhook_signing_key") == "canary-webhook-1")
        #expect(try await scenario.remoteValue("user:usr_OkDR2bKzwpXu3s/oauth_token") == "canary-oauth-1")
        #expect(try await scenario.remoteValue("acct_1Partner/account/partner_token") == "canary-oauth-1")
        #expect(try await scenario.remoteValue("acct_1Alpha/account/shared_config_key") == "canary-shared-1")
        #expect(try await scenario.remoteValue("acct_1Beta/account/shared_config_key") == "canary-shared-1")
        #expect(try await scenario.remoteValue("account/partner_token") == nil)  // it lives in acct_1Partner

        let requests = try await scenario.emulator.requestCount()
        let again = try scenario.runner.run("apply", "--auto-approve")
        #expect(again.status == 0)
        #expect(again.stdout == "No changes to apply. 6 secrets match secrets.state.json.\n")
        #expect(try await scenario.emulator.requestCount() == requests)

        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(state.mode == .test)
        #expect(state.serial == 1)
        #expect(state.secrets.count == 6)
        try scenario.expectNoSecretIn([plan, apply, again])
    }

    @Test func replacesAndDeletesFollowTheManifest() async throws {
        var scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-2"
        try scenario.folder.write(
            "secrets.yaml",
            ApplyScenario.manifest.replacing(
                "  - name: partner_token\n    account: acct_1Partner\n    value: {env: OAUTH_TOKEN}\n", with: ""))
        let output = try scenario.runner.run("apply", "--auto-approve")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("  ~ replace  account/openai_api_key"))
        #expect(output.stdout.contains("  - delete   acct_1Partner/account/partner_token"))
        #expect(output.stdout.contains("\nreplaced  account/openai_api_key"))
        #expect(output.stdout.contains("\ndeleted   acct_1Partner/account/partner_token"))
        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-openai-2")
        #expect(try await scenario.remoteValue("acct_1Partner/account/partner_token") == nil)
        try scenario.expectNoSecretIn([output])
    }

    @Test func aStalePlanAndAChangedValueAreRefused() async throws {
        var scenario = try ApplyScenario()
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        scenario.runner.environment["OAUTH_TOKEN"] = "canary-oauth-2"
        let changed = try scenario.runner.run("apply", "plan.json")
        #expect(changed.status == 1)
        #expect(
            changed.stderr == """
                error: the value of user:usr_OkDR2bKzwpXu3s/oauth_token changed since plan.json was made
                       (env OAUTH_TOKEN). Plan again to review the new change.

                """)
        scenario.runner.environment["OAUTH_TOKEN"] = "canary-oauth-1"
        #expect(try scenario.runner.run("state", "rm", "account/nothing").status == 1)  // changes nothing
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let stale = try scenario.runner.run("apply", "plan.json")
        #expect(stale.status == 1)
        #expect(
            stale.stderr == """
                error: plan.json is stale: secrets.state.json moved from serial 0 to 1 since it was planned.
                       Plan again: stripe-secrets plan --out plan.json

                """)
        try scenario.expectNoSecretIn([changed, stale])
    }

    @Test func aKeyOfTheOtherModeIsRefusedBeforeAnyRequest() async throws {
        var scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-2"
        scenario.runner.environment["STRIPE_API_KEY"] = "sk_live_canaryLIVE1"
        let requests = try await scenario.emulator.requestCount()
        let output = try scenario.runner.run("apply", "--auto-approve")
        #expect(output.status == 1)
        #expect(
            output.stderr == """
                error: secrets.state.json belongs to test mode but STRIPE_API_KEY is a live key (sk_live_…).
                       Use the live environment's state: name it with --state (or STRIPE_SECRETS_STATE), or use a test key.

                """)
        #expect(try await scenario.emulator.requestCount() == requests)
        try scenario.expectNoSecretIn([output])
    }

    @Test func theKeyIsNeverSentOverPlainHTTPToAnotherHost() throws {
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_BASE"] = "http://example.com"
        let output = try scenario.runner.run("apply", "--auto-approve")
        #expect(output.status == 1)
        #expect(output.stderr == "error: refusing to send the API key over plain http to example.com; use https\n")
    }

    @Test func applyWithoutAPlanFileNeedsApprovalOffATerminal() throws {
        let scenario = try ApplyScenario()
        let output = try scenario.runner.run("apply")
        #expect(output.status == 1)
        #expect(output.stderr.hasPrefix("error: apply without a plan file needs --auto-approve"))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/secrets.state.json.journal"))
    }

    @Test func deletingASecretThatIsAlreadyGoneSucceeds() async throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let client = try scenario.emulator.client()
        #expect(
            try await client.delete(
                name: "partner_token", scope: .account, account: "acct_1Partner", idempotencyKey: "t1"))
        await client.shutdown()
        try scenario.folder.write(
            "secrets.yaml",
            ApplyScenario.manifest.replacing(
                "  - name: partner_token\n    account: acct_1Partner\n    value: {env: OAUTH_TOKEN}\n", with: ""))
        let output = try scenario.runner.run("apply", "--auto-approve")
        #expect(output.status == 0)
        #expect(output.stdout.contains("\ngone      acct_1Partner/account/partner_token"))
    }

    @Test func theClientListsAScopeNewestFirst() async throws {
        let scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let client = try scenario.emulator.client()
        let own = try await client.listPage(scope: .account, account: nil, startingAfter: nil)
        let user = try await client.listPage(scope: .user("usr_OkDR2bKzwpXu3s"), account: nil, startingAfter: nil)
        await client.shutdown()
        #expect(Set(own.data.compactMap(\.name)) == ["openai_api_key", "webhook_signing_key"])
        #expect(own.data.allSatisfy { $0.payload == nil } && !own.hasMore)
        #expect(user.data.compactMap(\.name) == ["oauth_token"])
    }

    @Test func aRevokedKeyStopsTheRunAndEveryChangeIsCounted() async throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--revoked-key", ApplyScenario.key])
        let output = try scenario.runner.run("apply", "--auto-approve", "--parallelism", "1")
        #expect(output.status == 1)
        #expect(
            output.stdout.hasSuffix(
                "\nApply finished: 0 of 6 changes applied, 6 failed. State unchanged (serial 0).\nRun `stripe-secrets plan` to see what is left.\n"
            ))
        #expect(output.stderr.contains("Stripe 401 invalid_request_error: Expired API Key provided: sk_test_…"))
        #expect(output.stderr.components(separatedBy: "not attempted: Stripe 401").count - 1 == 5)
        #expect(try await scenario.emulator.requestCount() == 1)
        try scenario.expectNoSecretIn([output])
    }

    @Test func applyConvergesUnderInjectedFaults() async throws {
        let scenario = try ApplyScenario(emulatorOptions: [
            "--fail-rate", "0.3", "--drop-rate", "0.1", "--latency", "5ms",
        ])
        var outputs: [BinaryRunner.Output] = []
        for _ in 0..<6 {
            let output = try scenario.runner.run("apply", "--auto-approve")
            outputs.append(output)
            if output.status == 0 { break }
        }
        #expect(outputs.last?.status == 0, "\(outputs.map(\.stdout))")
        let plan = try scenario.runner.run("plan", "--detailed-exitcode")
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("No changes. 6 secrets match"))
        try scenario.expectNoSecretIn(outputs + [plan])
    }

    /// Synchronous on purpose: the poll below must not wait for a thread of the shared pool,
    /// which the other tests' process waits may be holding.
    @Test func aKilledApplyLosesNoCompletedCall() throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--latency", "300ms"])
        let running = try scenario.runner.start("apply", "--auto-approve", "--parallelism", "1")
        let journal = scenario.folder.path + "/secrets.state.json.journal"
        // Kill it once at least one call is recorded (each takes at least 300 ms, so some are left).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
            ((try? String(contentsOfFile: journal, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2
        {
            usleep(5_000)
        }
        kill(running.process.processIdentifier, SIGKILL)
        let killed = running.wait()
        try #require(FileManager.default.fileExists(atPath: journal), "\(killed.stdout) \(killed.stderr)")
        let journalLines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").count - 1
        #expect(journalLines >= 1 && journalLines < 6)

        // A reader sees every completed call at once; the next apply does only the rest.
        let plan = try scenario.runner.run("plan")
        #expect(plan.stdout.contains(", \(journalLines) unchanged."))
        let resumed = try scenario.runner.run("apply", "--auto-approve")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: journal))
        #expect(try scenario.runner.run("plan", "--detailed-exitcode").status == 0)
    }
}
