import Foundation
import SecretsModel
import Testing
@testable import SecretsCore

/// The one reader of state and plan documents: what `JSONDecoder` alone would let through.
@Suite struct DocumentReaderTests {
    private func state() -> [UInt8] {
        let key = FingerprintKey()
        var state = State(lineage: "L", serial: 3, mode: .test, fingerprintKey: key, secrets: [:])
        let address = SecretAddress(account: nil, scope: .account, name: "a")
        state.record(
            State.Entry(
                id: "appsecret_1", fingerprint: key.fingerprint(of: SecretValue("v"), at: address), expiresAt: nil,
                appliedAt: 1_800_000_000), at: address)
        return StateDocument.encode(state)
    }

    private func plan() -> [UInt8] {
        SavedPlan(
            createdAt: 1_800_000_000, manifestPath: "secrets.yaml", manifestDigest: String(repeating: "a", count: 64),
            statePath: "secrets.state.json", lineage: "L", serial: 3, mode: .test,
            plan: Plan(changes: [], unchanged: [SecretAddress(account: nil, scope: .account, name: "a")])
        ).encoded()
    }

    private func edited(_ bytes: [UInt8], _ find: String, _ replace: String) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(find), "the fixture no longer holds \(find)")
        return Array(text.replacing(find, with: replace).utf8)
    }

    @Test func theToolsOwnDocumentsReadBack() throws {
        #expect(try StateDocument.decode(state(), path: "s").serial == 3)
        #expect(try SavedPlan.decode(plan(), path: "p").serial == 3)
    }

    @Test(arguments: [
        // A key twice, the last one as jq reads it, the first as Foundation might.
        ("\"mode\" : \"test\"", "\"mode\" : \"live\", \"mode\" : \"test\"", "mode appears twice"),
        // The same key spelt with an escape is still the same key.
        ("\"mode\" : \"test\"", "\"mode\" : \"test\", \"m\\u006fde\" : \"live\"", "mode appears twice"),
        ("\"serial\" : 3", "\"serial\" : 9007199254740993", "serial is beyond the range of exact whole numbers (2^53)"),
        ("\"serial\" : 3", "\"serial\" : 3.0", "serial must be a whole number"),
        ("\"serial\" : 3", "\"serial\" : 3e0", "serial must be a whole number"),
        ("\"serial\" : 3", "\"serial\" : 3, \"owner\" : \"x\"", "owner is not a field of this format"),
        (
            "\"id\" : \"appsecret_1\"", "\"id\" : \"appsecret_1\", \"extra\" : 1",
            "secrets[0].extra is not a field of this format"
        ),
        (
            "\"id\" : \"appsecret_1\"", "\"id\" : \"appsecret_1\", \"\\u001b[2J\" : 1",
            "secrets[0].??2J is not a field of this format"
        ),
    ])
    func aStateThatJSONDecoderWouldAcceptIsRefused(find: String, replace: String, problem: String) throws {
        #expect {
            _ = try StateDocument.decode(edited(state(), find, replace), path: "s.state.json")
        } throws: { error in
            (error as? DocumentError)?.description.hasPrefix("s.state.json is corrupt (\(problem));") == true
        }
    }

    @Test(arguments: [
        ("\"serial\" : 3", "\"serial\" : 3, \"serial\" : 2", "state.serial appears twice"),
        ("\"complete\" : true", "\"complete\" : true, \"approved\" : true", "approved is not a field of this format"),
        (
            "\"path\" : \"secrets.yaml\"", "\"path\" : \"secrets.yaml\", \"x\" : []",
            "manifest.x is not a field of this format"
        ),
    ])
    func aPlanThatJSONDecoderWouldAcceptIsRefused(find: String, replace: String, problem: String) throws {
        #expect {
            _ = try SavedPlan.decode(edited(plan(), find, replace), path: "plan.json")
        } throws: { error in
            (error as? DocumentError)?.description == "plan.json is corrupt (\(problem)); make a new plan"
        }
    }

    /// A time that `Timestamp.format` would write back as another (before the year 1 or after
    /// 9999, in UTC) is refused by both state readers and by the plan reader; the edges read,
    /// and read back equal.
    @Test(arguments: [
        ("0000-01-01T00:00:00Z", false), ("0001-01-01T00:00:00+01:00", false), ("9999-12-31T23:59:59-00:01", false),
        ("0001-01-01T00:00:00Z", true), ("9999-12-31T23:59:59Z", true), ("1969-12-31T23:59:59Z", true),
    ])
    func aTimeThatWouldBeWrittenBackAsAnotherIsRefused(time: String, reads: Bool) throws {
        let written = "\"\(Timestamp.format(1_800_000_000))\""
        let stateBytes = edited(state(), "\"applied_at\" : \(written)", "\"applied_at\" : \"\(time)\"")
        for fastPath in [true, false] {
            do {
                let read = try StateDocument.decode(
                    stateBytes, path: "s.state.json", keptApart: nil, fastPath: fastPath)
                #expect(reads, "read \(time) (fast path: \(fastPath))")
                let again = try StateDocument.decode(StateDocument.encode(read), path: "again.state.json")
                #expect(again == read, "\(time) reads back as another time")
            } catch {
                #expect(!reads, "\(time): \(error)")
                #expect(
                    error.description.hasPrefix(
                        "s.state.json is corrupt (applied_at of account/a is not an RFC 3339 time in the years 1 to 9999);"
                    ))
            }
        }
        let planBytes = edited(plan(), "\"created_at\" : \(written)", "\"created_at\" : \"\(time)\"")
        do {
            let read = try SavedPlan.decode(planBytes, path: "plan.json")
            #expect(reads, "read \(time)")
            #expect(try SavedPlan.decode(read.encoded(), path: "again.json") == read, "\(time) reads back as another")
        } catch {
            #expect(!reads, "\(time): \(error)")
            #expect(
                error.description
                    == "plan.json is corrupt (created_at is not an RFC 3339 time in the years 1 to 9999); make a new plan"
            )
        }
    }

    /// A refreshed plan with one drifted change and one unmanaged secret.
    private func refreshedPlan() -> [UInt8] {
        let key = FingerprintKey()
        let address = SecretAddress(account: nil, scope: .account, name: "a")
        let recorded = key.fingerprint(of: SecretValue("v"), at: address)
        let inStripe = key.fingerprint(of: SecretValue("w"), at: address)
        let change = Plan.Change(
            action: .replace, address: address, reason: .changedInStripe, source: .environment("A"),
            fingerprintBefore: recorded, fingerprintAfter: recorded, expiresBefore: nil, expiresAfter: nil,
            remoteID: "appsecret_1", inStripe: Plan.Observed(id: "appsecret_1", fingerprint: inStripe, expiresAt: nil))
        return SavedPlan(
            createdAt: 1_800_000_000, manifestPath: "secrets.yaml", manifestDigest: String(repeating: "a", count: 64),
            statePath: "secrets.state.json", lineage: "L", serial: 3, mode: .test,
            plan: Plan(
                changes: [change], unchanged: [], refresh: .values,
                unmanaged: [SecretAddress(account: nil, scope: .account, name: "other")])
        ).encoded()
    }

    @Test func aRefreshedPlanReadsBack() throws {
        let plan = try SavedPlan.decode(refreshedPlan(), path: "p").plan
        #expect(plan.refresh == .values)
        #expect(plan.unmanaged.map(\.description) == ["account/other"])
        #expect(plan.changes.first?.reason == .changedInStripe)
        #expect(plan.changes.first?.inStripe?.id == "appsecret_1")
    }

    @Test(arguments: [
        // Drift is only ever seen by a refresh.
        ("\"refresh\" : \"values\"", "\"refresh\" : \"offline\"", "the plan was not refreshed"),
        ("\"refresh\" : \"values\"", "\"refresh\" : \"later\"", "refresh is not offline, secrets or values"),
        // What Stripe holds must differ from the state for a change in Stripe.
        ("\"fingerprint\" : \"", "\"fingerprint\" : null, \"x\" : \"", "is not a field of this format"),
        ("\"id\" : \"appsecret_1\"", "\"id\" : \"../../etc\"", "is not a secret"),
        ("\"reason\" : \"changed_in_stripe\"", "\"reason\" : \"untracked_in_stripe\"", "does not hang together"),
        ("\"reason\" : \"changed_in_stripe\"", "\"reason\" : \"missing_in_stripe\"", "does not hang together"),
        ("\"account/other\"", "\"account/a\"", "account/a is listed twice"),
    ])
    func aForgedRefreshedPlanIsRefused(find: String, replace: String, problem: String) throws {
        #expect {
            _ = try SavedPlan.decode(edited(refreshedPlan(), find, replace), path: "plan.json")
        } throws: { error in
            (error as? DocumentError)?.description.contains(problem) == true
        }
    }

    @Test func deepNestingIsRefusedWithoutExhaustingTheStack() {
        let deep =
            "{\"format\": \"stripe-secrets-state\", \"format_version\": 1, \"secrets\": "
            + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: DocumentError.self) { try StateDocument.decode(Array(deep.utf8), path: "s") }
    }
}

@Suite struct OfflinePlanDriftTests {
    @Test func anOfflinePlanCannotClaimDrift() throws {
        let key = FingerprintKey()
        let address = SecretAddress(account: nil, scope: .account, name: "a")
        let recorded = key.fingerprint(of: SecretValue("v"), at: address)
        let change = Plan.Change(
            action: .create, address: address, reason: .missingInStripe, source: .environment("A"),
            fingerprintBefore: recorded, fingerprintAfter: recorded, expiresBefore: nil, expiresAfter: nil,
            remoteID: "appsecret_1")
        let bytes = SavedPlan(
            createdAt: 1_800_000_000, manifestPath: "secrets.yaml", manifestDigest: String(repeating: "a", count: 64),
            statePath: "secrets.state.json", lineage: "L", serial: 3, mode: .test,
            plan: Plan(changes: [change], unchanged: [])
        ).encoded()
        #expect {
            _ = try SavedPlan.decode(bytes, path: "plan.json")
        } throws: { error in
            (error as? DocumentError)?.description.contains("does not hang together (create, missing_in_stripe)")
                == true
        }
    }
}
