import Foundation
import SecretsCore
import SecretsModel
@testable import StateStorage
import Testing
import TestSupport

/// A manifest and a state that together need every kind of change, with canary values.
struct PlanScenario {
    static let key = FingerprintKey(base64: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")!
    static let values = [
        "SAME_KEY": "canary-same-value", "OPENAI_API_KEY": "canary-openai-new", "PARTNER_TOKEN": "canary-partner",
        "OAUTH_TOKEN": "canary-oauth", "WEBHOOK_SECRET": "canary-webhook",
    ]
    static let manifest = """
        version: 1
        secrets:
          - name: sendgrid_key
            value: {env: SAME_KEY}
          - name: openai_api_key
            value: {env: OPENAI_API_KEY}
          - name: partner_token
            account: acct_1Nv0FGQ9
            value: {env: PARTNER_TOKEN}
            expires_at: 2099-06-30T00:00:00Z
          - name: oauth_token
            scope: {type: user, user: usr_OkDR2bKzwpXu3s}
            value: {env: OAUTH_TOKEN}
          - name: stripe_webhook_secret
            value: {env: WEBHOOK_SECRET}

        """

    let folder: TemporaryFolder
    var runner: BinaryRunner

    init() throws {
        folder = try TemporaryFolder()
        runner = BinaryRunner(environment: Self.values, directory: folder.path)
        try folder.write("secrets.yaml", Self.manifest)
        var state = State(lineage: "0f1e2d3c", serial: 14, mode: .test, fingerprintKey: Self.key, secrets: [:])
        func record(_ address: SecretAddress, _ value: String, expires: Int64?) {
            state.record(
                State.Entry(
                    id: "appsecret_" + address.name.replacing("_", with: ""),
                    fingerprint: Self.key.fingerprint(of: SecretValue(value), at: address),
                    expiresAt: expires, appliedAt: 1_790_000_000),
                at: address)
        }
        record(SecretAddress(account: nil, scope: .account, name: "sendgrid_key"), "canary-same-value", expires: nil)
        record(SecretAddress(account: nil, scope: .account, name: "openai_api_key"), "canary-openai-old", expires: nil)
        record(
            SecretAddress(account: "acct_1Nv0FGQ9", scope: .account, name: "partner_token"), "canary-partner",
            expires: 4_102_358_400)
        record(
            SecretAddress(account: nil, scope: .user("usr_OkDR2bKzwpXu3s"), name: "oauth_token"), "canary-oauth",
            expires: 1_605_830_400)
        record(SecretAddress(account: nil, scope: .account, name: "legacy_api_key"), "canary-legacy", expires: nil)
        try FileStateBackend(path: folder.path + "/secrets.state.json").write(state)
    }

    /// Every file in the folder and every output must be free of the canary values.
    func expectNoValueAnywhere(_ outputs: [BinaryRunner.Output]) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != "secrets.yaml" }
        let texts =
            try files.compactMap { file -> String? in
                var isFolder: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: folder.path + "/" + file, isDirectory: &isFolder)
                return isFolder.boolValue
                    ? nil
                    : String(
                        decoding: try Data(contentsOf: URL(fileURLWithPath: folder.path + "/" + file)), as: UTF8.self)
            } + outputs.flatMap { [$0.stdout, $0.stderr] }
        for text in texts { #expect(!text.contains("canary"), "a value leaked: \(text.prefix(200))") }
    }
}

/// Compares `actual` with a golden file (`UPDATE_GOLDEN=1 swift test` rewrites them).
func expectGolden(_ actual: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)").path
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] != nil {
        try actual.write(toFile: path, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOfFile: path, encoding: .utf8)
    #expect(actual == expected, sourceLocation: sourceLocation)
}

@Suite struct PlanCommandTests {
    @Test func textOutputMatchesGoldenAndSaysWhy() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("plan")
        #expect(output.status == 0)
        #expect(output.stderr == "")
        try expectGolden(output.stdout, "plan.txt")
        try scenario.expectNoValueAnywhere([output])
    }

    @Test func markdownOutputMatchesGolden() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("plan", "--format", "markdown")
        #expect(output.status == 0)
        try expectGolden(output.stdout, "plan.md")
    }

    @Test func jsonOutputMatchesGoldenAndTheSavedPlan() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("plan", "--format", "json", "--out", "plan.json", "--detailed-exitcode")
        #expect(output.status == 2)
        #expect(output.stderr == "Saved to plan.json; apply it with: stripe-secrets apply plan.json\n")
        let stable = output.stdout.replacing(/"created_at" : "[^"]+"/, with: "\"created_at\" : \"(now)\"")
            .replacing(/"folder" : "[^"]+"/, with: "\"folder\" : \"(folder)\"")
        try expectGolden(stable, "plan.json")
        let saved = try String(contentsOfFile: scenario.folder.path + "/plan.json", encoding: .utf8)
        #expect(saved == output.stdout)
        let mode =
            try FileManager.default.attributesOfItem(atPath: scenario.folder.path + "/plan.json")[.posixPermissions]
            as? Int
        #expect(mode == 0o600)
        try scenario.expectNoValueAnywhere([output])
    }

    @Test func showPrintsASavedPlanInEveryFormat() throws {
        let scenario = try PlanScenario()
        let planned = try scenario.runner.run("plan", "--out", "plan.json")
        #expect(planned.status == 0)
        let shown = try scenario.runner.run("show", "plan.json")
        #expect(shown.status == 0)
        // The same body as the plan, under a header that names the file.
        #expect(
            shown.stdout.split(separator: "\n").dropFirst().joined(separator: "\n")
                == planned.stdout.split(separator: "\n").dropFirst().dropLast().joined(separator: "\n"))
        #expect(shown.stdout.hasPrefix("stripe-secrets plan file plan.json, made "))
        let markdown = try scenario.runner.run("show", "plan.json", "--format", "markdown")
        let direct = try scenario.runner.run("plan", "--format", "markdown")
        #expect(markdown.stdout.replacing("show plan.json", with: "") == direct.stdout)
        let json = try scenario.runner.run("show", "plan.json", "--format", "json")
        #expect(json.stdout == (try String(contentsOfFile: scenario.folder.path + "/plan.json", encoding: .utf8)))
    }

    @Test func noChangesAndDetailedExitCodes() throws {
        let folder = try TemporaryFolder()
        try folder.write("secrets.yaml", "version: 1\nsecrets: []\n")
        let runner = BinaryRunner(directory: folder.path)
        let output = try runner.run("plan", "--detailed-exitcode")
        #expect(output.status == 0)
        #expect(
            output.stdout == """
                stripe-secrets plan: secrets.yaml against secrets.state.json (serial 0, no apply yet)

                No changes. 0 secrets match secrets.state.json.

                """)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/secrets.state.json"))
    }

    @Test func unreadableValuesFailThePlanOrShowAsUnknown() throws {
        var scenario = try PlanScenario()
        scenario.runner.environment["OPENAI_API_KEY"] = nil
        let failed = try scenario.runner.run("plan")
        #expect(failed.status == 1)
        #expect(
            failed.stderr
                == "secrets.yaml:6:12: error: environment variable OPENAI_API_KEY is not set\n1 error in secrets.yaml\n"
        )

        let unknown = try scenario.runner.run("plan", "--allow-unresolved")
        #expect(unknown.status == 0)
        #expect(
            unknown.stdout.contains(
                "  ? unknown  account/openai_api_key               (environment variable OPENAI_API_KEY is not set)\n"))
        #expect(unknown.stdout.contains(", 1 unknown (a plan with unknown values cannot be saved or applied)."))

        let notSaved = try scenario.runner.run("plan", "--allow-unresolved", "--out", "plan.json")
        #expect(notSaved.status == 1)
        #expect(notSaved.stderr.contains("cannot be saved to plan.json"))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/plan.json"))
        try scenario.expectNoValueAnywhere([failed, unknown, notSaved])
    }

    @Test(arguments: ["secrets.state.json", "secrets.yaml", "secrets.state.json.backup"])
    func planOutNeverReplacesTheManifestOrTheState(target: String) throws {
        let scenario = try PlanScenario()
        try scenario.folder.write("secrets.state.json.backup", "{}")
        let before = try String(contentsOfFile: scenario.folder.path + "/" + target, encoding: .utf8)
        let output = try scenario.runner.run("plan", "--out", target)
        #expect(output.status == 1)
        #expect(output.stderr.contains("--out \(target)"))
        #expect(try String(contentsOfFile: scenario.folder.path + "/" + target, encoding: .utf8) == before)
    }

    @Test func markdownAndTextEscapeWhatTheUserWrote() throws {
        let folder = try TemporaryFolder()
        try folder.write(
            "secrets.yaml",
            "version: 1\nsecrets:\n  - name: \"a|b`c\"\n    value: {file: \"<img src=x onerror=alert(1)>\\n# Injected.txt\"}\n"
        )
        let runner = BinaryRunner(directory: folder.path)
        let markdown = try runner.run("plan", "--allow-unresolved", "--format", "markdown")
        #expect(markdown.status == 0)
        #expect(!markdown.stdout.contains("<img"))
        #expect(!markdown.stdout.contains("\n# Injected"))
        #expect(
            markdown.stdout.contains(
                "| ? | ``account/a\\|b`c`` | &lt;img src=x onerror=alert(1)&gt; \\# Injected.txt does not exist"))
        let text = try runner.run("plan", "--allow-unresolved")
        #expect(text.stdout.contains("(<img src=x onerror=alert(1)>\\u{a}# Injected.txt does not exist"))
    }

    @Test(arguments: ["1e3", "inf", "0x10", "1s1s", "1m1h", "-1s", "1h30", ""])
    func lockTimeoutsMustBeDurations(value: String) throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("state", "rm", "account/legacy_api_key", "--lock-timeout", value)
        #expect(output.status == 64)
    }

    @Test func aPullRequestCommentStaysUnderGitHubsLimit() throws {
        let folder = try TemporaryFolder()
        let secrets = (0..<3000).map { index in
            "  - name: a_rather_long_secret_name_to_fill_the_table_\(index)\n    account: acct_\(index / 10)LongAccountIdentifier\n    value: {env: V}\n"
        }.joined()
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n" + secrets)
        let output = try BinaryRunner(environment: ["V": "x"], directory: folder.path).run(
            "plan", "--format", "markdown")
        #expect(output.status == 0)
        #expect(output.stdout.count <= 65_000)
        #expect(output.stdout.contains("more changes not shown"))
        #expect(
            output.stdout.hasPrefix("### stripe-secrets plan: 3000 to create, 0 to replace, 0 to delete, 0 unchanged\n")
        )
    }
}
