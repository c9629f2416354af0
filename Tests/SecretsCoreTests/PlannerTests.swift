import TestSupport
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

/// A refreshed plan: the state compared with what Stripe holds as well as with the manifest.
@Suite struct RefreshedPlannerTests {
    let key = FingerprintKey()
    let now: Int64 = fixedNow

    private func address(_ name: String) -> SecretAddress {
        SecretAddress(account: nil, scope: .account, name: name)
    }

    private func fingerprint(_ value: String, _ name: String) -> Fingerprint {
        key.fingerprint(of: SecretValue(value), at: address(name))
    }

    private func desired(_ name: String, _ value: String, expires: Int64? = nil) -> DesiredSecret {
        DesiredSecret(
            address: address(name), source: .environment("V"), expiresAt: expires,
            fingerprint: .success(fingerprint(value, name)))
    }

    private func state(_ entries: [(String, String?, Int64?)]) -> State {
        var state = State(lineage: "test", serial: 3, mode: .test, fingerprintKey: key, secrets: [:])
        for (name, value, expires) in entries {
            state.record(
                State.Entry(
                    id: "appsecret_\(name)", fingerprint: value.map { fingerprint($0, name) }, expiresAt: expires,
                    appliedAt: 1),
                at: address(name))
        }
        return state
    }

    private func seen(_ entries: [(String, String?, Int64?)], refresh: Plan.Refresh = .values) -> StripeView {
        StripeView(
            refresh: refresh,
            secrets: Dictionary(
                uniqueKeysWithValues: entries.map { name, value, expires in
                    (
                        address(name),
                        Plan.Observed(
                            id: "appsecret_\(name)", fingerprint: value.map { fingerprint($0, name) },
                            expiresAt: expires)
                    )
                }))
    }

    @Test func eachKindOfDriftWithItsReason() {
        let recorded = state([
            ("same", "v", nil), ("deleted", "v", nil), ("changed", "v", nil), ("redated", "v", 4_000_000_000),
            ("imported", nil, nil), ("dropped", "v", nil), ("droppedAndGone", "v", nil),
        ])
        let stripe = seen([
            ("same", "v", nil), ("changed", "other", nil), ("redated", "v", 4_100_000_000), ("imported", "v", nil),
            ("dropped", "v", nil), ("untracked", "old", nil), ("unmanaged", "x", nil),
        ])
        let plan = Planner.plan(
            desired: [
                desired("same", "v"), desired("deleted", "v"), desired("changed", "v"),
                desired("redated", "v", expires: 4_000_000_000), desired("imported", "v"), desired("untracked", "new"),
            ],
            state: recorded, now: now, stripe: stripe)
        #expect(
            plan.changes.map { "\($0.action) \($0.address.name) \($0.reason.code)" } == [
                "replace changed changed_in_stripe", "create deleted missing_in_stripe",
                "delete dropped removed_from_manifest", "delete droppedAndGone gone_from_stripe",
                "replace imported value_unknown_since_import", "replace redated expiry_changed_in_stripe",
                "replace untracked untracked_in_stripe",
            ])
        #expect(plan.unchanged == [address("same")])
        #expect(plan.unmanaged == [address("unmanaged")])
        #expect(plan.refresh == .values)
        let changed = plan.changes[0]
        #expect(changed.fingerprintBefore == fingerprint("v", "changed"))
        #expect(changed.inStripe?.fingerprint == fingerprint("other", "changed"))
        #expect(changed.fingerprintAfter == fingerprint("v", "changed"))
    }

    @Test func aRefreshOnlyAddsChangesToTheOfflinePlan() {
        var random = SeededRandom(seed: 4)
        for _ in 0..<500 {
            let names = (0..<Int.random(in: 0...8, using: &random)).map { "s\($0)" }
            var entries: [(String, String?, Int64?)] = []
            var listed: [(String, String?, Int64?)] = []
            var wanted: [DesiredSecret] = []
            for name in names {
                let value = ["a", "b"].randomElement(using: &random)
                let expiry: Int64? = Bool.random(using: &random) ? nil : now + 86_400
                if Bool.random(using: &random) {
                    entries.append((name, Bool.random(using: &random) ? value : nil, expiry))
                }
                if Bool.random(using: &random) {
                    listed.append(
                        (name, ["a", "b"].randomElement(using: &random), Bool.random(using: &random) ? expiry : nil))
                }
                if Bool.random(using: &random) { wanted.append(desired(name, value ?? "a", expires: expiry)) }
            }
            let recorded = state(entries)
            let offline = Planner.plan(desired: wanted, state: recorded, now: now)
            let refreshed = Planner.plan(desired: wanted, state: recorded, now: now, stripe: seen(listed))
            let changedOffline = Set(offline.changes.map(\.address))
            #expect(changedOffline.isSubset(of: Set(refreshed.changes.map(\.address))))
            #expect(Set(refreshed.unchanged).isSubset(of: Set(offline.unchanged)))
            #expect(Set(refreshed.unmanaged).isDisjoint(with: Set(wanted.map(\.address)).union(recorded.secrets.keys)))
            // Applying the refreshed plan leaves nothing for the next refreshed plan to do.
            var applied = recorded
            var nowInStripe = seen(listed).secrets
            for change in refreshed.changes where change.action != .unknown {
                applied.record(change, remoteID: "appsecret_new", at: now)
                nowInStripe[change.address] =
                    change.action == .delete
                    ? nil
                    : Plan.Observed(
                        id: "appsecret_new", fingerprint: change.fingerprintAfter, expiresAt: change.expiresAfter)
            }
            let again = Planner.plan(
                desired: wanted, state: applied, now: now, stripe: StripeView(refresh: .values, secrets: nowInStripe))
            #expect(again.isEmpty, "\(again.changes.map { "\($0.address) \($0.reason.code)" })")
        }
    }

    @Test func aScopeOverfilledByUnmanagedSecretsIsFound() {
        let names = (1...4).map { "m\($0)" }
        let stripe = seen((1...7).map { ("u\($0)", "x", nil) })
        let plan = Planner.plan(desired: names.map { desired($0, "v") }, state: state([]), now: now, stripe: stripe)
        let overflow = plan.overfullScopes
        #expect(overflow.count == 1)
        #expect(overflow.first?.managed.map(\.name) == names)
        #expect(overflow.first?.unmanaged.count == 7)
        #expect(overflow.first?.description.hasPrefix("the account scope would hold 11 secrets") == true)
        // Offline, nothing is known of unmanaged secrets.
        #expect(
            Planner.plan(desired: names.map { desired($0, "v") }, state: state([]), now: now).overfullScopes.isEmpty)
    }
}

@Suite struct ScopeOverflowTextTests {
    @Test func aLongListOfUnmanagedNamesIsCut() {
        let scope = ScopeKey(account: nil, scope: .account)
        let unmanaged = (1...300).map { SecretAddress(account: nil, scope: .account, name: "u\($0)") }
        let overflow = ScopeOverflow(
            scope: scope, managed: [SecretAddress(account: nil, scope: .account, name: "m")], unmanaged: unmanaged)
        #expect(overflow.description.contains("u20, … and 280 more)"))
        #expect(!overflow.description.contains("u21,"))
    }
}
