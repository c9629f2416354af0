import Apply
import SecretsCore
import SecretsModel
import Testing
import TestSupport

/// What an apply planned now carries to the calls it makes.
@Suite struct ApplyWorkTests {
    @Test func aPlanMadeNowCarriesOnlyTheValuesItsChangesSend() throws {
        let folder = try TemporaryFolder()
        let manifest = try folder.write(
            "secrets.yaml",
            """
            version: 1
            secrets:
              - name: kept
                value: {env: KEPT}
              - name: rotated
                value: {env: ROTATED}
              - name: added
                value: {env: ADDED}

            """)
        let environment: Environment = ["KEPT": "same", "ROTATED": "new", "ADDED": "first"]
        let checked = try ManifestLoader.check(path: manifest, now: 0, environment: environment, values: .required)
        let key = FingerprintKey()
        func address(_ name: String) -> SecretAddress { SecretAddress(account: nil, scope: .account, name: name) }
        func entry(_ value: String, _ name: String) -> State.Entry {
            State.Entry(
                id: "appsecret_\(name)", fingerprint: key.fingerprint(of: SecretValue(value), at: address(name)),
                expiresAt: nil, appliedAt: 1)
        }
        let state = State(
            lineage: "a1b2", serial: 1, mode: .test, fingerprintKey: key,
            secrets: [address("kept"): entry("same", "kept"), address("rotated"): entry("old", "rotated")])
        let plan = Planner.plan(
            desired: DesiredSecret.from(checked.values, key: key), state: state, now: 0)

        let work = ApplyWork(plan: plan, resolved: checked.values)

        #expect(Set(work.changes.map(\.address)) == [address("rotated"), address("added")])
        #expect(work.values.mapValues(\.plaintext) == [address("rotated"): "new", address("added"): "first"])
        #expect(work.unchangedCount == 1)
    }
}
