import Foundation
import SecretsCore
@testable import StateStorage
import Testing

@Suite struct StateCommandTests {
    @Test func listShowsAddressIdExpiryAndWhenApplied() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("state", "list")
        #expect(output.status == 0)
        #expect(
            output.stdout == """
                ADDRESS                              ID                      EXPIRES               APPLIED
                account/legacy_api_key               appsecret_legacyapikey  -                     2026-09-21T14:13:20Z
                account/openai_api_key               appsecret_openaiapikey  -                     2026-09-21T14:13:20Z
                account/sendgrid_key                 appsecret_sendgridkey   -                     2026-09-21T14:13:20Z
                user:usr_OkDR2bKzwpXu3s/oauth_token  appsecret_oauthtoken    2020-11-20T00:00:00Z  2026-09-21T14:13:20Z
                acct_1Nv0FGQ9/account/partner_token  appsecret_partnertoken  2099-12-31T00:00:00Z  2026-09-21T14:13:20Z
                5 secrets in secrets.state.json (serial 14, test mode)

                """)
    }

    @Test func removeForgetsKeepsABackupAndBumpsTheSerial() throws {
        let scenario = try PlanScenario()
        let before = try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)
        let output = try scenario.runner.run(
            "state", "rm", "account/legacy_api_key", "acct_1Nv0FGQ9/account/partner_token")
        #expect(output.status == 0)
        #expect(output.stdout == "Forgot 2 secrets in secrets.state.json (serial 15); Stripe was not changed.\n")
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(state.serial == 15)
        #expect(
            state.secrets.keys.map(\.description).sorted() == [
                "account/openai_api_key", "account/sendgrid_key", "user:usr_OkDR2bKzwpXu3s/oauth_token",
            ])
        #expect(
            try String(contentsOfFile: scenario.folder.path + "/secrets.state.json.backup", encoding: .utf8) == before)
    }

    @Test func removingAnUnknownAddressNamesTheClosestAndChangesNothing() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("state", "rm", "account/legacy_api_keys")
        #expect(output.status == 1)
        #expect(
            output.stderr == """
                error: account/legacy_api_keys is not in secrets.state.json (did you mean account/legacy_api_key?); see stripe-secrets state list

                """)
        #expect(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load()?.serial == 14)
        let malformed = try scenario.runner.run("state", "rm", "legacy_api_key")
        #expect(malformed.status == 64)
        #expect(malformed.stderr.contains("'legacy_api_key' is not an address"))
    }

    @Test func aHeldLockNamesItsHolderAndAWaitGetsIt() throws {
        let scenario = try PlanScenario()
        let store = FileStateBackend(path: scenario.folder.path + "/secrets.state.json")
        let holder = LockBox(
            try StateLock.acquire(
                store.lockPath, statePath: store.path, operation: "apply", now: { 1_800_000_000 }))
        let refused = try scenario.runner.run("state", "rm", "account/legacy_api_key")
        #expect(refused.status == 1)
        #expect(
            refused.stderr == """
                error: secrets.state.json is locked by apply (pid \(getpid()) on \(LockHolder.hostName), since 08:00:00 UTC on 2027-01-15).
                       Wait with --lock-timeout 2m, or, if that process is gone, stripe-secrets force-unlock

                """)
        let forced = try scenario.runner.run("force-unlock")
        #expect(forced.status == 1)
        #expect(forced.stderr.contains("which is still running; stop it (kill \(getpid()))"))

        // Release the lock while a second command waits for it.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.4) { holder.release() }
        let waited = try scenario.runner.run("state", "rm", "account/legacy_api_key", "--lock-timeout", "10s")
        #expect(waited.status == 0)
        #expect(holder.isReleased)
        #expect(try store.load()?.serial == 15)
    }

    @Test func concurrentWritersAreSerialisedAndNothingIsLost() throws {
        let scenario = try PlanScenario()
        let addresses = [
            "account/legacy_api_key", "account/openai_api_key", "account/sendgrid_key",
            "user:usr_OkDR2bKzwpXu3s/oauth_token", "acct_1Nv0FGQ9/account/partner_token",
        ]
        let results = try addresses.map { address in
            try scenario.runner.start("state", "rm", address, "--lock-timeout", "30s")
        }.map { $0.wait() }
        #expect(results.map(\.status) == Array(repeating: 0, count: addresses.count))
        let state = try #require(try FileStateBackend(path: scenario.folder.path + "/secrets.state.json").load())
        #expect(state.serial == 14 + addresses.count)
        #expect(state.secrets.isEmpty)
    }

    @Test func forceUnlockOnAFreeLockSaysSo() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("force-unlock")
        #expect(output.status == 0)
        #expect(output.stdout == "secrets.state.json is not locked.\n")
    }

    @Test func aStateThatIsNotOursIsNeverOverwritten() throws {
        let scenario = try PlanScenario()
        try scenario.folder.write("secrets.state.json", "{\"format\": \"stripe-secrets-state\", \"format_version\": 2}")
        for arguments in [["plan"], ["state", "rm", "account/x"], ["state", "list"]] {
            let output = try scenario.runner.run(arguments)
            #expect(output.status == 1)
            #expect(output.stderr.contains("has format version 2, written by a newer stripe-secrets"))
        }
        #expect(
            try String(contentsOfFile: scenario.folder.path + "/secrets.state.json", encoding: .utf8)
                == "{\"format\": \"stripe-secrets-state\", \"format_version\": 2}")
    }
}

/// Holds a lock until another thread lets it go.
final class LockBox: @unchecked Sendable {
    private let guardLock = NSLock()
    private var lock: StateLock?

    init(_ lock: StateLock) {
        self.lock = lock
    }

    func release() {
        guardLock.withLock { lock = nil }
    }

    var isReleased: Bool {
        guardLock.withLock { lock == nil }
    }
}
