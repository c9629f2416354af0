import Foundation
import Testing
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Client pacing against a server whose limit is the configured rate: the emulator's
/// `--rate-limit` allows that many requests in any sliding second, counted on arrival, and the
/// client starts at most that many in any 1.1 s, so not one request may be refused.
@Suite struct PacingTests {
    @Test func anApplyAtTheServersOwnLimitDrawsNo429() async throws {
        let folder = try TemporaryFolder()
        let emulator = try EmulatorProcess(arguments: ["--rate-limit", "10", "--latency", "20ms"])
        // 3 accounts of 10: 30 creates, three windows' worth at 10 a second.
        let secrets = (0..<30).map { "  - name: secret_\($0)\n    account: acct_1Pace\($0 / 10)\n    value: {env: V}" }
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n" + secrets.joined(separator: "\n") + "\n")
        let runner = BinaryRunner(
            environment: ["STRIPE_API_BASE": emulator.url, "STRIPE_API_KEY": "sk_test_fakePacing", "V": "pacing"],
            directory: folder.path)

        let applied = try runner.run("apply", "--auto-approve", "--rate-limit", "10", "--parallelism", "8")

        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try await emulator.stat("rate_limited") == 0)
        #expect(try await emulator.stat("requests") == 30)
    }

    @Test func aServerRefusesTheRequestBeyondItsLimit() async throws {
        // The yardstick itself: without the client's pacing, the emulator does refuse. At 0.001 a
        // second, one request in any 1,000 seconds: the next two are refused however starved the
        // test process is.
        let emulator = try EmulatorProcess(arguments: ["--rate-limit", "0.001"])
        var request = URLRequest(url: URL(string: emulator.url + "/v1/apps/secrets?scope[type]=account")!)
        request.setValue("Bearer sk_test_fakePacing", forHTTPHeaderField: "Authorization")
        var statuses: [Int] = []
        for _ in 0..<3 {
            let (_, response) = try await URLSession.shared.data(for: request)
            statuses.append(try #require(response as? HTTPURLResponse).statusCode)
        }
        #expect(statuses == [200, 429, 429])
        #expect(try await emulator.stat("rate_limited") == 2)
    }
}
