import Foundation
import Refresh
import SecretsCore
import SecretsModel
import StateStorage
import StripeAPI
import Testing

/// Drift made through the API, behind the tool's back, and what `plan --refresh`,
/// `plan --refresh-values` and `import` make of it. Requests are counted at the emulator.
extension ApplyScenario {
    /// The manifest's five scopes: own account, one user, three connected accounts.
    static let scopeCount = 5

    /// Applies the manifest, so that Stripe and the state agree.
    func applied() throws -> Self {
        let output = try runner.run("apply", "--auto-approve")
        #expect(output.status == 0, "\(output.stderr)")
        return self
    }

    /// Writes a secret through the API, as a Dashboard user or a script would.
    func writeBehindTheToolsBack(_ address: String, _ value: String, expiresAt: Int64? = nil) async throws {
        let parsed = try #require(SecretAddress(address))
        let client = try emulator.client()
        do {
            _ = try await client.upsert(
                name: parsed.name, scope: parsed.scope, account: parsed.account, payload: SecretValue(value),
                expiresAt: expiresAt, idempotencyKey: UUID().uuidString)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    func deleteBehindTheToolsBack(_ address: String) async throws {
        let parsed = try #require(SecretAddress(address))
        let client = try emulator.client()
        let deleted = try? await client.delete(
            name: parsed.name, scope: parsed.scope, account: parsed.account, idempotencyKey: UUID().uuidString)
        await client.shutdown()
        #expect(deleted == true)
    }

    /// Runs the binary and says how many requests the emulator received meanwhile.
    func runCounting(_ arguments: String...) async throws -> (output: BinaryRunner.Output, requests: Int) {
        let before = try await emulator.requestCount()
        let output = try runner.run(arguments)
        return (output, try await emulator.requestCount() - before)
    }

    func planJSON(_ arguments: String...) throws -> [String: Any] {
        let output = try runner.run(["plan", "--format", "json"] + arguments)
        #expect(output.status == 0, "\(output.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }
}

/// `reason` of every change in a plan document, by address.
private func reasons(_ plan: [String: Any]) -> [String: String] {
    let changes = plan["changes"] as? [[String: Any]] ?? []
    return Dictionary(
        changes.map { ($0["address"] as? String ?? "", "\($0["action"] ?? "") \($0["reason"] ?? "")") },
        uniquingKeysWith: { first, _ in first })
}

@Suite struct RefreshCommandTests {
    @Test func aSecretDeletedBehindTheToolsBackIsCreatedAgainWithRefresh() async throws {
        let scenario = try ApplyScenario().applied()
        try await scenario.deleteBehindTheToolsBack("account/openai_api_key")

        let offline = try await scenario.runCounting("plan")
        #expect(offline.output.stdout.contains("No changes. 6 secrets match"))
        #expect(offline.requests == 0)

        let refreshed = try await scenario.runCounting("plan", "--refresh", "--out", "plan.json")
        #expect(refreshed.output.status == 0, "\(refreshed.output.stderr)")
        #expect(refreshed.requests == ApplyScenario.scopeCount)  // one listing per managed scope
        #expect(
            refreshed.output.stdout.contains(
                "Refreshed 5 scopes from Stripe (5 requests).\n"))
        #expect(
            refreshed.output.stdout.contains(
                "  + create   account/openai_api_key  missing in Stripe (deleted outside stripe-secrets?)\n"
            ))
        #expect(refreshed.output.stdout.contains("Plan: 1 to create, 0 to replace, 0 to delete, 5 unchanged."))

        // The refreshed plan is applied like any other: listed again, then exactly that create.
        let applied = try await scenario.runCounting("apply", "plan.json")
        #expect(applied.output.status == 0, "\(applied.output.stderr)")
        #expect(applied.requests == ApplyScenario.scopeCount + 1)
        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-openai-1")
        let after = try scenario.runner.run("plan", "--refresh")
        #expect(after.stdout.contains("No changes. 6 secrets match"))
        try scenario.expectNoSecretIn([offline.output, refreshed.output, applied.output, after])
    }

    @Test func aValueChangedThroughTheAPIIsAReplaceWithRefreshValuesAndNoPayloadAppearsAnywhere() async throws {
        let scenario = try ApplyScenario().applied()
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-changed-in-stripe")

        // Listings do not show values: --refresh cannot see this drift.
        let listed = try await scenario.runCounting("plan", "--refresh")
        #expect(listed.output.stdout.contains("No changes. 6 secrets match"))

        let read = try await scenario.runCounting(
            "plan", "--refresh-values", "--detailed-exitcode", "--out", "plan.json")
        #expect(read.output.status == 2, "\(read.output.stderr)")
        #expect(read.requests == ApplyScenario.scopeCount + 6)  // and one find per managed secret
        #expect(read.output.stdout.contains("Refreshed 5 scopes and 6 values from Stripe (11 requests).\n"))
        #expect(read.output.stdout.contains("~ replace  account/openai_api_key"))
        #expect(read.output.stdout.contains("changed in Stripe (fp "))
        let markdown = try scenario.runner.run("show", "plan.json", "--format", "markdown")
        #expect(markdown.stdout.contains("changed in Stripe"))
        #expect(markdown.stdout.contains("refreshed from Stripe (secrets and values)"))

        let plan = try scenario.planJSON("--refresh-values")
        #expect(plan["refresh"] as? String == "values")
        #expect(reasons(plan) == ["account/openai_api_key": "replace changed_in_stripe"])
        let change = try #require((plan["changes"] as? [[String: Any]])?.first)
        let seen = try #require(change["in_stripe"] as? [String: Any])
        #expect(seen["fingerprint"] as? String != change["fingerprint_before"] as? String)
        #expect(change["fingerprint_after"] as? String == change["fingerprint_before"] as? String)

        let applied = try scenario.runner.run("apply", "plan.json")
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-openai-1")
        try scenario.expectNoSecretIn([listed.output, read.output, markdown, applied])
    }

    @Test func anExpiryChangedInStripeIsAReplace() async throws {
        let scenario = try ApplyScenario().applied()
        // The same value, another expiry (2099-12-31 instead of 2099-06-30).
        try await scenario.writeBehindTheToolsBack(
            "account/webhook_signing_key", "canary-webhook-1", expiresAt: 4_102_358_400)
        let output = try scenario.runner.run("plan", "--refresh")
        #expect(
            output.stdout.contains(
                "~ replace  account/webhook_signing_key  expires_at changed in Stripe: 2099-06-30 -> 2099-12-31\n"
            ), "\(output.stdout)")
        #expect(
            reasons(try scenario.planJSON("--refresh")) == [
                "account/webhook_signing_key": "replace expiry_changed_in_stripe"
            ])
    }

    @Test func aPayloadlessKeySaysSoOnceAndCarriesOnAsRefresh() async throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--payloadless-key", "rk_test_noValues0123"]).applied()
        try await scenario.deleteBehindTheToolsBack("account/openai_api_key")
        var restricted = scenario.runner
        restricted.environment["STRIPE_API_KEY"] = "rk_test_noValues0123"
        let before = try await scenario.emulator.requestCount()
        let output = try restricted.run("plan", "--refresh-values")
        #expect(output.status == 0, "\(output.stderr)")
        // The listings, then one find that is refused: no find after it.
        #expect(try await scenario.emulator.requestCount() - before == ApplyScenario.scopeCount + 1)
        #expect(output.stderr.components(separatedBy: "may not read secret values").count == 2)
        #expect(output.stdout.contains("Refreshed 5 scopes from Stripe (6 requests)."))
        #expect(output.stdout.contains("missing in Stripe"))
    }

    @Test func anUnmanagedSecretIsReportedAndNeverTouched() async throws {
        let scenario = try ApplyScenario().applied()
        try await scenario.writeBehindTheToolsBack("account/legacy_debug_token", "canary-unmanaged")
        try await scenario.writeBehindTheToolsBack("acct_1Beta/account/scratch", "canary-unmanaged")
        try await scenario.deleteBehindTheToolsBack("account/openai_api_key")

        let output = try scenario.runner.run("plan", "--refresh", "--out", "plan.json")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(
            output.stdout.contains(
                "note: 2 secrets in managed scopes are not in secrets.yaml and will not be touched:\n"
                    + "      account/legacy_debug_token\n      acct_1Beta/account/scratch\n"))
        let plan = try scenario.planJSON("--refresh")
        #expect(plan["unmanaged"] as? [String] == ["account/legacy_debug_token", "acct_1Beta/account/scratch"])
        let markdown = try scenario.runner.run("plan", "--refresh", "--format", "markdown")
        #expect(markdown.stdout.contains("> [!NOTE]\n> 2 secrets in managed scopes are not in `secrets.yaml`"))

        #expect(try scenario.runner.run("apply", "plan.json").status == 0)
        #expect(try await scenario.remoteValue("account/legacy_debug_token") == "canary-unmanaged")
        #expect(try await scenario.remoteValue("acct_1Beta/account/scratch") == "canary-unmanaged")
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(state.secrets.keys.map(\.description).sorted() == ApplyScenario.addresses)
    }

    @Test func aSecretInStripeButNotInTheStateIsAnOverwriteNotACreate() async throws {
        let scenario = try ApplyScenario()
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-older")
        let offline = try scenario.runner.run("plan")
        #expect(offline.stdout.contains("+ create   account/openai_api_key"))
        let refreshed = try scenario.planJSON("--refresh")
        #expect(reasons(refreshed)["account/openai_api_key"] == "replace untracked_in_stripe")
    }

    @Test func theCapacityCheckFiresBeforeAnyWriteNamingTheScopeAndItsSecrets() async throws {
        var scenario = try ApplyScenario().applied()
        // The own account scope holds the manifest's 2 and 7 unmanaged: 9 of 10.
        for index in 1...7 { try await scenario.writeBehindTheToolsBack("account/other_\(index)", "canary-x") }
        try scenario.folder.write(
            "secrets.yaml", ApplyScenario.manifest + "  - name: third\n    value: {env: SHARED_KEY}\n")
        #expect(try scenario.runner.run("plan", "--refresh", "--out", "plan.json").status == 0)

        // One more unmanaged secret: the saved plan would now overfill the scope.
        try await scenario.writeBehindTheToolsBack("account/other_8", "canary-x")
        let applied = try await scenario.runCounting("apply", "plan.json")
        #expect(applied.output.status == 1)
        #expect(applied.requests == ApplyScenario.scopeCount)  // the listings only: no write
        #expect(
            applied.output.stderr.contains(
                "error: the account scope would hold 11 secrets, more than Stripe's 10: 3 from the manifest "
                    + "(openai_api_key, third, webhook_signing_key) and 8 in Stripe that it does not manage "
                    + "(other_1, other_2, other_3, other_4, other_5, other_6, other_7, other_8)."),
            "\(applied.output.stderr)")

        let planned = try scenario.runner.run("plan", "--refresh", "--out", "again.json")
        #expect(planned.status == 1)
        #expect(planned.stderr.contains("the account scope would hold 11 secrets"))
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/again.json"))
        // Offline, the tool cannot know: only a refresh counts what it does not manage.
        scenario.runner.environment["STRIPE_API_KEY"] = nil
        #expect(try scenario.runner.run("plan").status == 0)
    }

    @Test func refreshNeedsAKeyAndPlainPlanDoesNot() throws {
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_KEY"] = nil
        #expect(try scenario.runner.run("plan").status == 0)
        let refreshed = try scenario.runner.run("plan", "--refresh")
        #expect(refreshed.status == 1)
        #expect(refreshed.stderr.contains("set STRIPE_API_KEY"))
    }

    @Test func aSavedRefreshedPlanIsRefusedWhenStripeMovedOn() async throws {
        let scenario = try ApplyScenario().applied()
        try await scenario.deleteBehindTheToolsBack("account/openai_api_key")
        #expect(try scenario.runner.run("plan", "--refresh", "--out", "plan.json").status == 0)
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-restored")
        let applied = try await scenario.runCounting("apply", "plan.json")
        #expect(applied.output.status == 1)
        #expect(applied.requests == ApplyScenario.scopeCount)
        #expect(
            applied.output.stderr.contains(
                "error: plan.json lists a create of account/openai_api_key that the manifest, state and Stripe do not "
                    + "call for."))
    }

    @Test func manyScopesAndManySecretsAreListedOncePerScope() async throws {
        // 12 accounts with 10 secrets each: 120 managed secrets, more than one page's worth in all.
        let accounts = (1...12).map { "acct_1Many\($0)" }
        var manifest = "version: 1\nsecrets:\n"
        for index in 1...10 {
            manifest += "  - name: fanned_\(index)\n    accounts: [\(accounts.joined(separator: ", "))]\n"
            manifest += "    value: {env: SHARED_KEY}\n"
        }
        let scenario = try ApplyScenario(emulatorOptions: ["--rate-limit", "1000"])
        try scenario.folder.write("secrets.yaml", manifest)
        #expect(try scenario.runner.run("apply", "--auto-approve", "--rate-limit", "1000").status == 0)
        try await scenario.deleteBehindTheToolsBack("acct_1Many7/account/fanned_3")
        let read = try await scenario.runCounting("plan", "--refresh-values", "--rate-limit", "1000")
        #expect(read.output.status == 0, "\(read.output.stderr)")
        #expect(read.requests == 12 + 119)
        #expect(read.output.stdout.contains("+ create   acct_1Many7/account/fanned_3"))
        #expect(read.output.stdout.contains("Plan: 1 to create, 0 to replace, 0 to delete, 119 unchanged."))
    }

    @Test func aListingOfManyPagesIsFollowedToTheEnd() async throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--scope-limit", "250"])
        let client = try scenario.emulator.client()
        for index in 1...250 {
            _ = try await client.upsert(
                name: "n\(index)", scope: .user("usr_Pages"), account: "acct_1Pages", payload: SecretValue("v"),
                expiresAt: nil, idempotencyKey: UUID().uuidString)
        }
        let reader = StripeReader(client: client, mode: .test, parallelism: 4)
        let scope = ScopeKey(account: "acct_1Pages", scope: .user("usr_Pages"))
        let before = try await scenario.emulator.requestCount()
        let seen = try await reader.read(scopes: [scope], valuesOf: nil, key: FingerprintKey())
        await client.shutdown()
        #expect(seen.requests == 3)
        #expect(try await scenario.emulator.requestCount() - before == 3)
        #expect(seen.view.secrets.count == 250)
        #expect(Set(seen.view.secrets.keys.map(\.name)) == Set((1...250).map { "n\($0)" }))
    }
}

@Suite struct ImportCommandTests {
    @Test func importThenPlanGivesNoChanges() async throws {
        let scenario = try ApplyScenario().applied()
        let statePath = scenario.folder.path + "/secrets.state.json"
        try FileManager.default.removeItem(atPath: statePath)
        try? FileManager.default.removeItem(atPath: statePath + ".backup")

        let imported = try await scenario.runCounting("import", "--all")
        #expect(imported.output.status == 0, "\(imported.output.stderr)")
        #expect(imported.requests == ApplyScenario.scopeCount + 6)
        #expect(imported.output.stdout.components(separatedBy: "value matches secrets.yaml\n").count - 1 == 6)
        #expect(imported.output.stdout.hasSuffix("6 secrets imported into secrets.state.json (serial 1).\n"))
        let offline = try scenario.runner.run("plan")
        #expect(offline.stdout.contains("No changes. 6 secrets match"), "\(offline.stdout)")
        let refreshed = try scenario.runner.run("plan", "--refresh-values")
        #expect(refreshed.stdout.contains("No changes. 6 secrets match"))
        let again = try scenario.runner.run("import", "--all")
        #expect(again.status == 0)
        #expect(again.stdout.hasPrefix("Nothing to import"))
        try scenario.expectNoSecretIn([imported.output, offline, refreshed, again])
    }

    @Test func anImportedValueThatDiffersIsAnHonestReplace() async throws {
        let scenario = try ApplyScenario()
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-older")
        let imported = try scenario.runner.run("import", "account/openai_api_key")
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("value differs: the next plan replaces it"))
        let plan = try scenario.planJSON()
        #expect(reasons(plan)["account/openai_api_key"] == "replace value_changed")
    }

    @Test func withoutValueAccessTheNextPlanReplaces() async throws {
        let scenario = try ApplyScenario(emulatorOptions: ["--payloadless-key", "rk_test_noValues0123"]).applied()
        let statePath = scenario.folder.path + "/secrets.state.json"
        try FileManager.default.removeItem(atPath: statePath)
        var restricted = scenario.runner
        restricted.environment["STRIPE_API_KEY"] = "rk_test_noValues0123"
        let imported = try restricted.run("import", "account/openai_api_key", "user:usr_OkDR2bKzwpXu3s/oauth_token")
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.components(separatedBy: "value not readable with this key").count - 1 == 2)
        let plan = try scenario.planJSON()
        #expect(reasons(plan)["account/openai_api_key"] == "replace value_unknown_since_import")
        #expect(reasons(plan)["user:usr_OkDR2bKzwpXu3s/oauth_token"] == "replace value_unknown_since_import")
        let text = try scenario.runner.run("plan")
        #expect(text.stdout.contains("~ replace  account/openai_api_key  "))
        #expect(text.stdout.contains("value unknown since import"))
    }

    @Test func anAddressNotInTheManifestOrNotInStripeIsAnErrorNamingIt() async throws {
        let scenario = try ApplyScenario()
        let unknown = try scenario.runner.run("import", "account/openai_api_kee")
        #expect(unknown.status == 1)
        #expect(
            unknown.stderr
                == "error: account/openai_api_kee is not in secrets.yaml (did you mean account/openai_api_key?); "
                + "declare it there first, then import it\n")
        let absent = try scenario.runner.run("import", "account/openai_api_key")
        #expect(absent.status == 1)
        #expect(absent.stderr == "error: account/openai_api_key is not in Stripe (test mode); nothing was imported\n")
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/secrets.state.json.backup"))
        let both = try scenario.runner.run("import", "--all", "account/openai_api_key")
        #expect(both.status != 0)
        #expect(both.stderr.contains("name the addresses to import, or pass --all (not both)"))
    }
}

/// `protect: true`: recorded when applied, and no plan deletes the secret until it is released.
@Suite struct ProtectionTests {
    static let protected = ApplyScenario.manifest.replacing(
        "  - name: openai_api_key\n    value: {env: OPENAI_API_KEY}\n",
        with: "  - name: openai_api_key\n    value: {env: OPENAI_API_KEY}\n    protect: true\n")

    /// The manifest applied with openai_api_key protected.
    static func protectedScenario() throws -> ApplyScenario {
        let scenario = try ApplyScenario()
        try scenario.folder.write("secrets.yaml", protected)
        let applied = try scenario.runner.run("apply", "--auto-approve")
        #expect(applied.status == 0, "\(applied.stderr)")
        return scenario
    }

    @Test(arguments: [
        ("removed", "  - name: openai_api_key\n    value: {env: OPENAI_API_KEY}\n    protect: true\n", ""),
        ("renamed", "  - name: openai_api_key\n", "  - name: openai_key\n"),
        ("moved", "  - name: openai_api_key\n", "  - name: openai_api_key\n    account: acct_1Moved\n"),
    ])
    func aProtectedSecretIsNeverDeleted(way: String, replaced: String, replacement: String) async throws {
        let scenario = try Self.protectedScenario()
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        // The first apply writes the state twice: its calls, then the protection.
        #expect(state.serial == 2)
        #expect(
            state.secrets[SecretAddress(account: nil, scope: .account, name: "openai_api_key")]?.protectedSince == 2)
        try scenario.folder.write("secrets.yaml", Self.protected.replacing(replaced, with: replacement))
        let why =
            way == "moved"
            ? "it moved to acct_1Moved/account/openai_api_key in secrets.yaml, which leaves this one to delete"
            : "its entry is gone from secrets.yaml, or now names another address"
        let expected =
            "error: account/openai_api_key is protected (protect: true, applied at serial 2), but this plan would "
            + "delete it (\(why)).\n"
            + "       To delete it: set `protect: false` on it, apply, then remove it. To stop managing it without "
            + "deleting it: stripe-secrets state rm account/openai_api_key\n"
        for arguments in [["plan"], ["plan", "--refresh"], ["apply", "--auto-approve"]] {
            let before = try await scenario.emulator.requestCount()
            let output = try scenario.runner.run(arguments)
            #expect(output.status == 1, "\(way) \(arguments)")
            #expect(output.stderr == expected, "\(way) \(arguments)")
            let listings = arguments.contains("--refresh") ? ApplyScenario.scopeCount + 1 : 0
            #expect(try await scenario.emulator.requestCount() - before <= listings)
        }
        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-openai-1")
    }

    /// Rotating a protected secret's value, or creating it again after it was deleted behind the
    /// tool's back, must not drop its protection, or the next pull request could delete it.
    @Test func aProtectedSecretStaysProtectedWhenItIsReplacedOrCreatedAgain() async throws {
        var scenario = try Self.protectedScenario()
        let address = SecretAddress(account: nil, scope: .account, name: "openai_api_key")
        let statePath = scenario.folder.path + "/secrets.state.json"
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-2"
        let rotated = try scenario.runner.run("apply", "--auto-approve")
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(try FileStateBackend(path: statePath).load()?.secrets[address]?.protectedSince == 2)

        try await scenario.deleteBehindTheToolsBack("account/openai_api_key")
        #expect(try scenario.runner.run("plan", "--refresh", "--out", "again.json").status == 0)
        let recreated = try scenario.runner.run("apply", "again.json")
        #expect(recreated.status == 0, "\(recreated.stderr)")
        #expect(try FileStateBackend(path: statePath).load()?.secrets[address]?.protectedSince == 2)
        #expect(!(try scenario.runner.run("plan").stdout.contains("protect")))

        try scenario.folder.write(
            "secrets.yaml",
            Self.protected.replacing(
                "  - name: openai_api_key\n    value: {env: OPENAI_API_KEY}\n    protect: true\n", with: ""))
        let removed = try scenario.runner.run("apply", "--auto-approve")
        #expect(removed.status == 1)
        #expect(removed.stderr.hasPrefix("error: account/openai_api_key is protected"), "\(removed.stderr)")
        #expect(try await scenario.remoteValue("account/openai_api_key") == "canary-openai-2")
    }

    @Test func releasingThenRemovingDeletesIt() async throws {
        let scenario = try Self.protectedScenario()
        try scenario.folder.write(
            "secrets.yaml", Self.protected.replacing("    protect: true\n", with: "    protect: false\n"))
        let plan = try scenario.runner.run("plan", "--detailed-exitcode", "--out", "release.json")
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("  ! release  account/openai_api_key"))
        #expect(
            plan.stdout.contains("Plan: 0 to create, 0 to replace, 0 to delete, 6 unchanged, 1 protection to record."))
        let before = try await scenario.emulator.requestCount()
        let released = try scenario.runner.run("apply", "release.json")
        #expect(released.status == 0, "\(released.stderr)")
        #expect(
            released.stdout.contains("Recorded the protection of 1 secret (no call to Stripe). State saved (serial 3).")
        )
        #expect(try await scenario.emulator.requestCount() == before)

        try scenario.folder.write(
            "secrets.yaml",
            ApplyScenario.manifest.replacing("  - name: openai_api_key\n    value: {env: OPENAI_API_KEY}\n", with: ""))
        let removed = try scenario.runner.run("apply", "--auto-approve")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try await scenario.remoteValue("account/openai_api_key") == nil)
    }

    @Test func protectionIsShownInEveryFormatAndCheckedInAPlanFile() throws {
        let scenario = try ApplyScenario()
        try scenario.folder.write(
            "secrets.yaml", "version: 1\ndefaults:\n  protect: true\n" + ApplyScenario.manifest.dropFirst(11))
        let text = try scenario.runner.run("plan", "--out", "plan.json")
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("  ! protect  account/openai_api_key"))
        #expect(text.stdout.contains("6 protections to record"))
        let markdown = try scenario.runner.run("show", "plan.json", "--format", "markdown")
        #expect(markdown.stdout.contains("| 🔒 | `account/openai_api_key` | protect: true recorded"))
        let json = try scenario.runner.run("show", "plan.json", "--format", "json")
        #expect(json.stdout.contains("\"protect\" : true"))
        // A plan file that drops a protection is not the plan the manifest calls for.
        let path = scenario.folder.path + "/plan.json"
        let forged = try String(contentsOfFile: path, encoding: .utf8)
            .replacing("\"protect\" : true", with: "\"protect\" : false")
        try forged.write(toFile: path, atomically: true, encoding: .utf8)
        let applied = try scenario.runner.run("apply", "plan.json")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("Plan again"), "\(applied.stderr)")
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(state.secrets.values.allSatisfy { $0.protectedSince == 2 })
        // Forgetting a protected secret is allowed: Stripe is not touched.
        #expect(try scenario.runner.run("state", "rm", "account/openai_api_key").status == 0)
    }

    @Test func importRecordsProtection() async throws {
        let scenario = try ApplyScenario()
        try scenario.folder.write("secrets.yaml", Self.protected)
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-openai-1")
        #expect(try scenario.runner.run("import", "account/openai_api_key").status == 0)
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(
            state.secrets[SecretAddress(account: nil, scope: .account, name: "openai_api_key")]?.protectedSince == 1)
    }
}

/// Warnings about secrets Stripe deletes soon, at the edges of the horizon.
@Suite struct ExpiryWarningTests {
    private func manifest(_ days: [Int]) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        var text = "version: 1\nsecrets:\n"
        for (index, day) in days.enumerated() {
            text += "  - name: s\(day)\n    value: {env: OPENAI_API_KEY}\n"
            text += "    expires_at: \(now + Int64(day) * 86_400 + 3_600 + Int64(index))\n"
        }
        return text
    }

    @Test func secretsWithin30DaysAreWarnedAboutInEveryFormat() throws {
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_KEY"] = nil
        try scenario.folder.write("secrets.yaml", manifest([29, 31]))
        let text = try scenario.runner.run("plan")
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("warning: account/s29 expires in 29 days ("))
        #expect(text.stdout.contains("); rotate it and update expires_at.\n"))
        #expect(!text.stdout.contains("account/s31 expires"))

        let json = try scenario.runner.run("plan", "--format", "json")
        let plan = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let expiring = try #require(plan["expiring"] as? [[String: Any]])
        #expect(expiring.map { $0["address"] as? String } == ["account/s29"])
        #expect(expiring.first?["days_left"] as? Int == 29)
        #expect(json.stderr.contains("warning: account/s29 expires in 29 days"))

        let markdown = try scenario.runner.run("plan", "--format", "markdown")
        #expect(
            markdown.stdout.contains(
                "> [!WARNING]\n> 1 secret expires soon; rotate and update `expires_at`: `account/s29` in 29 days ("))

        let wider = try scenario.runner.run("plan", "--expiry-warning", "32d")
        #expect(wider.stdout.contains("account/s31 expires in 31 days"))
        let off = try scenario.runner.run("plan", "--expiry-warning", "0")
        #expect(!off.stdout.contains("warning:"))
    }

    @Test func failOnExpiryExitsOneOnlyWhenSomethingExpires() throws {
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_API_KEY"] = nil
        try scenario.folder.write("secrets.yaml", manifest([29]))
        let failing = try scenario.runner.run("plan", "--fail-on-expiry", "--detailed-exitcode")
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("error: 1 secret expires within 30d (--fail-on-expiry)"))
        try scenario.folder.write("secrets.yaml", manifest([31]))
        #expect(try scenario.runner.run("plan", "--fail-on-expiry").status == 0)
    }

    @Test func aRefreshedPlanWarnsByStripesExpiry() async throws {
        let scenario = try ApplyScenario().applied()
        let soon = Int64(Date().timeIntervalSince1970) + 5 * 86_400 + 3_600
        try await scenario.writeBehindTheToolsBack("account/openai_api_key", "canary-openai-1", expiresAt: soon)
        #expect(!(try scenario.runner.run("plan").stdout.contains("warning:")))
        let refreshed = try scenario.runner.run("plan", "--refresh")
        #expect(refreshed.stdout.contains("warning: account/openai_api_key expires in 5 days ("), "\(refreshed.stdout)")
    }
}

/// A fingerprint key kept out of the state, and `state rekey`.
@Suite struct KeptApartKeyTests {
    /// 32 random bytes, base64.
    static func newKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    /// The key's bytes as hex, the other form a leak could take.
    static func hex(_ base64: String) -> String {
        (Data(base64Encoded: base64) ?? Data()).map { String(format: "%02x", $0) }.joined()
    }

    @Test func aStateMadeWithAKeptApartKeyHoldsNoKeyAndNeedsIt() throws {
        var scenario = try ApplyScenario()
        let key = Self.newKey()
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = key
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let document = try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)
        #expect(!document.contains(key))
        #expect(!document.contains(Self.hex(key)))
        #expect(!document.contains("\"fingerprint_key\""))
        #expect(document.contains("\"fingerprint_key_id\""))
        #expect(try scenario.runner.run("plan").stdout.contains("No changes. 6 secrets match"))

        var without = scenario.runner
        without.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = nil
        for arguments in [["plan"], ["apply", "--auto-approve"], ["state", "list"], ["plan", "--refresh"]] {
            let output = try without.run(arguments)
            #expect(output.status == 1, "\(arguments)")
            #expect(
                output.stderr
                    == "error: secrets.state.json keeps its fingerprint key apart; set STRIPE_SECRETS_FINGERPRINT_KEY "
                    + "(or pass --fingerprint-key-file PATH) to the key it was made with. Without it, no value can be "
                    + "compared\n", "\(arguments)")
            #expect(!output.stdout.contains("replace"))
        }
        var wrong = scenario.runner
        wrong.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = Self.newKey()
        let refused = try wrong.run("plan")
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasPrefix(
                "error: the fingerprint key from STRIPE_SECRETS_FINGERPRINT_KEY is not the one secrets.state.json was "
                    + "made with"))
        // The same key from a file works too; a short one is refused.
        try scenario.folder.write("fingerprint.key", key + "\n")
        #expect(try without.run("plan", "--fingerprint-key-file", "fingerprint.key").status == 0)
        try scenario.folder.write("short.key", "dG9vIHNob3J0")
        let short = try without.run("plan", "--fingerprint-key-file", "short.key")
        #expect(short.status == 1)
        #expect(short.stderr.contains("holds less than 32 bytes"))
    }

    /// A pull request that swaps the committed state's `fingerprint_key_id` for a key of its own
    /// must not get every value fingerprinted with that key in its plan: with a key kept apart,
    /// a state that stores one is refused (only `state rekey` reads it, to move it).
    @Test func aStateSwitchedToAStoredKeyIsRefusedWhileAKeyIsKeptApart() async throws {
        var scenario = try ApplyScenario()
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = Self.newKey()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let statePath = scenario.folder.path + "/secrets.state.json"
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any])
        let known = FingerprintKey()
        document["fingerprint_key_id"] = nil
        document["fingerprint_key"] = known.base64
        try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: statePath))
        let forged = try String(contentsOfFile: statePath, encoding: .utf8)

        let expected =
            "error: secrets.state.json stores its own fingerprint key, but STRIPE_SECRETS_FINGERPRINT_KEY gives one kept "
            + "apart, so its fingerprints would be made with a key anyone who can read the state knows. Restore the "
            + "state if it was edited, or move it to the kept-apart key with stripe-secrets state rekey\n"
        for arguments in [["plan", "--format", "json"], ["plan", "--refresh"], ["apply", "--auto-approve"]] {
            let before = try await scenario.emulator.requestCount()
            let output = try scenario.runner.run(arguments)
            #expect(output.status == 1, "\(arguments)")
            #expect(output.stderr == expected, "\(arguments)")
            #expect(output.stdout.isEmpty, "\(arguments)")
            #expect(try await scenario.emulator.requestCount() == before, "\(arguments)")
        }
        let pushed = try scenario.runner.run("state", "push", "secrets.state.json", "--state", "copy.state.json")
        #expect(pushed.status == 1)
        #expect(try String(contentsOfFile: statePath, encoding: .utf8) == forged)
        #expect(!FileManager.default.fileExists(atPath: scenario.folder.path + "/copy.state.json"))
    }

    @Test func rekeyMovesAStateToAKeptApartKeyAndBack() throws {
        var scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let statePath = scenario.folder.path + "/secrets.state.json"
        let before = try #require(try FileStateBackend(path: statePath).load())

        let key = Self.newKey()
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = key
        let moved = try scenario.runner.run("state", "rekey")
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(moved.stdout.hasPrefix("Rekeyed 6 secrets in secrets.state.json (serial 2): the key is now kept apart"))
        #expect(moved.stdout.contains("secrets.state.json.backup) still holds the old key"))
        let document = try String(contentsOfFile: statePath, encoding: .utf8)
        #expect(!document.contains(key))
        #expect(!document.contains(before.fingerprintKey.base64))
        #expect(try scenario.runner.run("plan").stdout.contains("No changes. 6 secrets match"))
        let keptApart = try #require(FingerprintKey(keptApart: Array(key.utf8), allowRaw: false))
        let reader = FileStateBackend(
            path: statePath, keptApartKey: StateDocument.KeptApartKey(keptApart, origin: "test"))
        let after = try #require(try reader.load())
        #expect(after.secrets.keys.sorted() == before.secrets.keys.sorted())
        for (address, entry) in after.secrets { #expect(entry.fingerprint != before.secrets[address]?.fingerprint) }

        let back = try scenario.runner.run("state", "rekey", "--embed-new-key")
        #expect(back.status == 0, "\(back.stderr)")
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = nil
        #expect(try scenario.runner.run("plan").stdout.contains("No changes. 6 secrets match"))
    }

    @Test func rekeyIsRefusedOnDriftAndWritesNothing() throws {
        var scenario = try ApplyScenario()
        #expect(try scenario.runner.run("apply", "--auto-approve").status == 0)
        let statePath = scenario.folder.path + "/secrets.state.json"
        let before = try String(contentsOfFile: statePath, encoding: .utf8)
        scenario.runner.environment["OPENAI_API_KEY"] = "canary-openai-2"
        scenario.runner.environment["STRIPE_SECRETS_FINGERPRINT_KEY"] = Self.newKey()
        let refused = try scenario.runner.run("state", "rekey")
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "error: the values of account/openai_api_key differ from what secrets.state.json records; plan and "
                + "apply them first (stripe-secrets plan), then rekey; it was not rekeyed\n")
        #expect(try String(contentsOfFile: statePath, encoding: .utf8) == before)
        try scenario.expectNoSecretIn([refused])
    }
}
