import Testing
@testable import SecretsCore
import SecretsModel

@Suite struct PlannerTests {
    let key = FingerprintKey()
    let now: Int64 = fixedNow

    private func address(_ name: String, account: String? = nil, scope: SecretScope = .account) -> SecretAddress {
        SecretAddress(account: account, scope: scope, name: name)
    }

    private func desired(_ name: String, _ value: String, expires: Int64? = nil) -> DesiredSecret {
        let at = address(name)
        return DesiredSecret(
            address: at, source: .environment(name.uppercased()), expiresAt: expires,
            fingerprint: .success(key.fingerprint(of: SecretValue(value), at: at)))
    }

    private func state(_ entries: [(String, String, Int64?)]) -> State {
        var state = State(lineage: "test", serial: 3, mode: .test, fingerprintKey: key, secrets: [:])
        for (name, value, expires) in entries {
            let at = address(name)
            state.record(
                State.Entry(
                    id: "appsecret_\(name)", fingerprint: key.fingerprint(of: SecretValue(value), at: at),
                    expiresAt: expires, appliedAt: 1_700_000_000),
                at: at)
        }
        return state
    }

    @Test func eachKindOfChangeWithItsReason() {
        let current = state([
            ("same", "v", nil), ("value", "old", nil), ("expiry", "v", 4_000_000_000), ("both", "old", nil),
            ("expired", "v", 1_600_000_000), ("gone", "v", nil),
        ])
        let plan = Planner.plan(
            desired: [
                desired("same", "v"), desired("value", "new"), desired("expiry", "v", expires: 4_100_000_000),
                desired("both", "new", expires: 4_100_000_000), desired("expired", "v"), desired("fresh", "v"),
            ],
            state: current, now: now)
        #expect(
            plan.changes.map { "\($0.action) \($0.address)" } == [
                "replace account/both", "create account/expired", "replace account/expiry", "create account/fresh",
                "delete account/gone", "replace account/value",
            ])
        #expect(
            plan.changes.map(\.reason) == [
                .valueAndExpiryChanged, .expired(at: 1_600_000_000), .expiryChanged, .new, .removedFromManifest,
                .valueChanged,
            ])
        #expect(plan.unchanged == [address("same")])
        #expect(plan.changes.first { $0.action == .delete }?.remoteID == "appsecret_gone")
        #expect(plan.changes.first { $0.action == .delete }?.fingerprintAfter == nil)
    }

    @Test func anUnreadableValueIsUnknownAndMakesThePlanIncomplete() {
        let unreadable = DesiredSecret(
            address: address("x"), source: .environment("X"), expiresAt: nil,
            fingerprint: .failure(ValueProblem("environment variable X is not set")))
        let plan = Planner.plan(desired: [unreadable], state: state([("x", "v", nil)]), now: now)
        #expect(plan.changes.map(\.action) == [.unknown])
        #expect(plan.changes[0].reason == .unresolved("environment variable X is not set"))
        #expect(!plan.isComplete)
    }

    @Test func equalValuesAtTwoAddressesHaveUnrelatedFingerprints() {
        let a = key.fingerprint(of: SecretValue("same"), at: address("a"))
        let b = key.fingerprint(of: SecretValue("same"), at: address("b"))
        let otherKey = FingerprintKey().fingerprint(of: SecretValue("same"), at: address("a"))
        #expect(a != b)
        #expect(a != otherKey)
        #expect(a == key.fingerprint(of: SecretValue("same"), at: address("a")))
    }
}

/// Properties over random manifests and states, from a fixed seed so failures reproduce.
@Suite struct PlannerPropertyTests {
    let key = FingerprintKey()
    let now: Int64 = fixedNow

    private struct Scenario {
        var desired: [DesiredSecret]
        var state: State
    }

    private func scenario(_ random: inout SeededRandom) -> Scenario {
        let names = (0..<Int.random(in: 0...12, using: &random)).map { "s\($0)" }
        let accounts: [String?] = [nil, "acct_A1", "acct_B2"]
        let scopes: [SecretScope] = [.account, .user("usr_U1")]
        var desired: [DesiredSecret] = []
        var state = State(lineage: "p", serial: 0, mode: nil, fingerprintKey: key, secrets: [:])
        for name in names {
            let address = SecretAddress(
                account: accounts.randomElement(using: &random) ?? nil,
                scope: scopes.randomElement(using: &random) ?? .account,
                name: name)
            let value = SecretValue("v\(Int.random(in: 0...2, using: &random))")
            let expiry: Int64? =
                Bool.random(using: &random) ? nil : now + Int64.random(in: -100...100, using: &random) * 86_400
            if Bool.random(using: &random) {
                state.record(
                    State.Entry(
                        id: "appsecret_\(name)", fingerprint: key.fingerprint(of: value, at: address),
                        expiresAt: expiry, appliedAt: 1),
                    at: address)
            }
            if Int.random(in: 0...3, using: &random) > 0 {
                let wanted = Bool.random(using: &random) ? value : SecretValue("changed")
                let wantedExpiry: Int64? = Bool.random(using: &random) ? expiry.map { max($0, now + 1) } : nil
                desired.append(
                    DesiredSecret(
                        address: address, source: .environment("V"), expiresAt: wantedExpiry,
                        fingerprint: .success(key.fingerprint(of: wanted, at: address))))
            }
        }
        return Scenario(desired: desired, state: state)
    }

    @Test func planningAfterApplyingGivesNoChanges() {
        var random = SeededRandom(seed: 1)
        for _ in 0..<500 {
            let scenario = scenario(&random)
            let plan = Planner.plan(desired: scenario.desired, state: scenario.state, now: now)
            var applied = scenario.state
            for change in plan.changes { applied.record(change, remoteID: "appsecret_new", at: now) }
            let again = Planner.plan(desired: scenario.desired, state: applied, now: now)
            #expect(again.isEmpty)
            #expect(again.unchanged.count == scenario.desired.count)
        }
    }

    @Test func thePlanDoesNotDependOnManifestOrder() {
        var random = SeededRandom(seed: 2)
        for _ in 0..<500 {
            let scenario = scenario(&random)
            let plan = Planner.plan(desired: scenario.desired, state: scenario.state, now: now)
            let shuffled = Planner.plan(
                desired: scenario.desired.shuffled(using: &random), state: scenario.state, now: now)
            #expect(plan == shuffled)
        }
    }

    @Test func aChangedValueAlwaysGivesAReplace() {
        var random = SeededRandom(seed: 3)
        for _ in 0..<500 {
            let scenario = scenario(&random)
            for (address, entry) in scenario.state.secrets where entry.expiresAt.map({ $0 > now }) ?? true {
                let secret = DesiredSecret(
                    address: address, source: .environment("V"), expiresAt: entry.expiresAt,
                    fingerprint: .success(key.fingerprint(of: SecretValue("a new value"), at: address)))
                let plan = Planner.plan(desired: [secret], state: scenario.state, now: now)
                let change = plan.changes.first { $0.address == address }
                #expect(change?.action == .replace)
                #expect(change?.reason == .valueChanged)
            }
        }
    }
}

/// SplitMix64: a small, fast generator that repeats its sequence for a seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
