import Foundation
import SecretsModel
import TestSupport
import Testing

@testable import SecretsCore

/// The plan and state writers of issue 9 against `JSONEncoder`, the path they replace: the
/// same bytes for generated plans and states of every kind, with odd strings everywhere.
@Suite struct DocumentWriterTests {
    /// Strings a JSON writer may get wrong: quotes, backslashes, slashes, every kind of control
    /// character, DEL and C1, combining marks, non-BMP scalars, emoji sequences, separators.
    private static let oddPieces = [
        "", "plain", "a/b", "//", "q\"uote", "back\\slash", "\\\"", "\"\\/", "tab\there", "nl\nx", "\r\n", "\r",
        "\u{0}", "\u{1}\u{1F}", "\u{8}\u{B}\u{C}", "\u{7F}", "\u{80}\u{9F}", "\u{A0}", "é", "e\u{301}", "\u{301}",
        "中文", "😀", "👩‍👩‍👧", "🇫🇷", "\u{2028}\u{2029}", "\u{FEFF}", "\u{FFFD}", "\u{10FFFF}", "<&>", "'",
    ]

    private func oddString(_ random: inout SeededRandom) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            if Int.random(in: 0..<4, using: &random) == 0 {
                // A random scalar from one of the UTF-8 lengths.
                let ranges: [ClosedRange<UInt32>] = [
                    0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF,
                    0x1_0000...0x10_FFFF,
                ]
                let value = UInt32.random(in: ranges.randomElement(using: &random)!, using: &random)
                text.unicodeScalars.append(Unicode.Scalar(value)!)
            } else {
                text += Self.oddPieces.randomElement(using: &random)!
            }
        }
        return text
    }

    private func address(_ random: inout SeededRandom) -> SecretAddress {
        let account = Bool.random(using: &random) ? nil : "acct_" + oddString(&random)
        let scope: SecretScope = Bool.random(using: &random) ? .account : .user("usr_" + oddString(&random))
        return SecretAddress(account: account, scope: scope, name: oddString(&random))
    }

    private func fingerprint(_ random: inout SeededRandom) -> Fingerprint? {
        guard Bool.random(using: &random) else { return nil }
        let hex = (0..<64).map { _ in "0123456789abcdef".randomElement(using: &random)! }
        return Fingerprint(hex: String(hex))
    }

    /// Any time, extremes included: the writer prints integers as they are.
    private func time(_ random: inout SeededRandom) -> Int64? {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: nil
        case 1: [Int64.min, Int64.max, 0, -1, 1, 9_007_199_254_740_993].randomElement(using: &random)
        default: Int64.random(in: -4_102_444_800...253_402_300_799, using: &random)
        }
    }

    private func reason(_ random: inout SeededRandom) -> Plan.Reason {
        let reasons: [Plan.Reason] = [
            .new, .expired(at: time(&random) ?? 0), .valueChanged, .expiryChanged, .valueAndExpiryChanged,
            .removedFromManifest, .unresolved(oddString(&random)), .missingInStripe, .changedInStripe,
            .expiryChangedInStripe, .untrackedInStripe, .valueUnknownSinceImport, .goneFromStripe,
        ]
        return reasons.randomElement(using: &random)!
    }

    private func change(_ random: inout SeededRandom) -> Plan.Change {
        let source: ValueSource? =
            switch Int.random(in: 0..<3, using: &random) {
            case 0: nil
            case 1: .environment(oddString(&random))
            default: .file(path: oddString(&random), trimNewline: Bool.random(using: &random))
            }
        let observed =
            Bool.random(using: &random)
            ? Plan.Observed(
                id: "appsecret_" + oddString(&random), fingerprint: fingerprint(&random),
                expiresAt: time(&random)) : nil
        return Plan.Change(
            action: [.create, .replace, .delete, .unknown].randomElement(using: &random)!, address: address(&random),
            reason: reason(&random), source: source, fingerprintBefore: fingerprint(&random),
            fingerprintAfter: fingerprint(&random), expiresBefore: time(&random), expiresAfter: time(&random),
            remoteID: Bool.random(using: &random) ? "appsecret_" + oddString(&random) : nil, inStripe: observed)
    }

    private func randomPlan(_ random: inout SeededRandom) -> SavedPlan {
        func some<T>(_ make: (inout SeededRandom) -> T) -> [T] {
            (0..<[0, 0, 1, 2, 7].randomElement(using: &random)!).map { _ in make(&random) }
        }
        let createdAt = Int64.random(in: 0...4_102_444_800, using: &random)
        var plan = Plan(
            changes: some(change), unchanged: some(address),
            refresh: [nil, .secrets, .values].randomElement(using: &random)!,
            unmanaged: some(address),
            protection: some { Plan.ProtectionChange(address: address(&$0), protect: Bool.random(using: &$0)) })
        plan.expiring = some {
            Plan.ExpiryWarning(
                address: address(&$0), expiresAt: createdAt + Int64.random(in: -100...9_000_000, using: &$0))
        }
        return SavedPlan(
            toolVersion: oddString(&random), createdAt: createdAt, manifestPath: oddString(&random),
            folder: Bool.random(using: &random) ? oddString(&random) : nil, manifestDigest: oddString(&random),
            statePath: oddString(&random), lineage: oddString(&random),
            serial: Int.random(in: Int.min...Int.max, using: &random),
            mode: [nil, .test, .live].randomElement(using: &random)!, plan: plan)
    }

    @Test func everyGeneratedPlanIsWrittenAsJSONEncoderWritesIt() {
        var random = SeededRandom(seed: 91)
        for round in 0..<600 {
            let saved = randomPlan(&random)
            let written = saved.encoded()
            let expected = saved.encodedByFoundation()
            #expect(written == expected, "round \(round): \(String(decoding: written, as: UTF8.self))")
        }
    }

    @Test func aPlanInChunksIsTheWholeDocumentInPieces() {
        var random = SeededRandom(seed: 92)
        for round in 0..<100 {
            let saved = randomPlan(&random)
            let size = Int.random(in: 1...400, using: &random)
            var chunks: [[UInt8]] = []
            saved.encode(inChunksOf: size) { chunks.append($0) }
            #expect(chunks.joined().elementsEqual(saved.encodedByFoundation()), "round \(round), chunks of \(size)")
            #expect(chunks.dropLast().allSatisfy { $0.count >= size }, "round \(round): no chunk is cut short")
        }
        // A plan of many changes comes in many chunks, none much over the size asked for.
        let many = SavedPlan(
            createdAt: 0, manifestPath: "m.yaml", manifestDigest: "d", statePath: "s.json", lineage: "l", serial: 1,
            mode: nil, plan: Plan(changes: (0..<500).map { _ in change(&random) }, unchanged: []))
        var sizes: [Int] = []
        many.encode(inChunksOf: 4_096) { sizes.append($0.count) }
        #expect(sizes.count > 10 && sizes.allSatisfy { $0 < 4_096 + 16_384 }, "\(sizes)")
    }

    /// Hand-made plans of three shapes: empty, refreshed, and a drifted change with every field set.
    @Test(arguments: ["empty plan", "refreshed", "every reason"])
    func aKnownPlanIsWrittenAsJSONEncoderWritesIt(kind: String) {
        let key = FingerprintKey()
        let a = SecretAddress(account: "acct_1Writer", scope: .user("usr_1/\"x\""), name: "a/😀\u{0}\n")
        let changes: [Plan.Change] =
            kind == "empty plan"
            ? []
            : [
                Plan.Change(
                    action: .replace, address: a, reason: .changedInStripe,
                    source: .file(path: "/tmp/a\\b", trimNewline: false),
                    fingerprintBefore: key.fingerprint(of: SecretValue("v"), at: a),
                    fingerprintAfter: key.fingerprint(of: SecretValue("w"), at: a), expiresBefore: 1, expiresAfter: nil,
                    remoteID: "appsecret_1",
                    inStripe: kind == "refreshed"
                        ? Plan.Observed(id: "appsecret_1", fingerprint: nil, expiresAt: 5) : nil)
            ]
        var plan = Plan(
            changes: changes, unchanged: kind == "empty plan" ? [] : [a], refresh: kind == "refreshed" ? .secrets : nil,
            unmanaged: kind == "refreshed" ? [a] : [], protection: [Plan.ProtectionChange(address: a, protect: true)])
        plan.expiring = [Plan.ExpiryWarning(address: a, expiresAt: 1_800_086_400)]
        let saved = SavedPlan(
            createdAt: fixedNow, manifestPath: "secrets.yaml", folder: "/work/é", manifestDigest: "ab",
            statePath: "postgres://db/x?a=b&c=/d", lineage: "lin-1", serial: 0, mode: .live, plan: plan)
        #expect(saved.encoded() == saved.encodedByFoundation())
    }

    private func randomState(_ random: inout SeededRandom) -> State {
        var secrets: [SecretAddress: State.Entry] = [:]
        for _ in 0..<[0, 1, 3, 12].randomElement(using: &random)! {
            secrets[address(&random)] = State.Entry(
                id: "appsecret_" + oddString(&random), fingerprint: fingerprint(&random), expiresAt: time(&random),
                appliedAt: Int64.random(in: -100_000_000_000...300_000_000_000, using: &random),
                protectedSince: Bool.random(using: &random) ? Int.random(in: Int.min...Int.max, using: &random) : nil)
        }
        return State(
            lineage: oddString(&random), serial: Int.random(in: Int.min...Int.max, using: &random),
            mode: [nil, .test, .live].randomElement(using: &random)!, fingerprintKey: FingerprintKey(),
            keyIsKeptApart: Bool.random(using: &random), secrets: secrets)
    }

    @Test func everyGeneratedStateIsWrittenAsJSONEncoderWritesIt() {
        var random = SeededRandom(seed: 93)
        for round in 0..<600 {
            let state = randomState(&random)
            let written = StateDocument.encode(state, fastPath: true)
            #expect(
                written == StateDocument.encode(state, fastPath: false),
                "round \(round): \(String(decoding: written, as: UTF8.self))")
        }
    }
}
