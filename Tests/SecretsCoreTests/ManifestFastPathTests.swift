import StrictYAML
import TestSupport
import Testing

@testable import SecretsCore

/// `ManifestFastPath` against the decoder on the tree: the same secrets and diagnostics, on
/// generated manifests (valid and not) and broken copies of them.
@Suite struct ManifestFastPathTests {

    private static let names = [
        "api_key", "dup", "dup", "é", "e\u{301}", "a/b", "''", "\"x\\ty\"", "1", "no", "~", "'q'", "\"\\u200B\"",
        "x\u{202E}", "secret_1", "secret_2",
    ]
    private static let values = [
        "{env: API_KEY}", "{file: keys/a.txt}", "{file: b.txt, trim_newline: false}", "{env: A, trim_newline: true}",
        "{env: A, file: b}", "{}", "hunter2-inline", "", "{env: STRIPE_API_KEY}", "{env: 1X}", "{file: ''}",
        "\n      env: BLOCK_VAR", "[a]", "{env: sk_test_fakekey123}", "{file: sk_test_fakekey456}", "{env: ~}",
        "{'env': \"QUOTED\"}", "{env: A, env: B}", "{file: c.txt, trim_newline: yes}",
        "{file: c.txt, trim_newline: TRUE}",
        "{env: [A]}", "{ENV: A}",
    ]
    private static let extras = [
        "account: acct_1Alpha", "account: acct_2Beta", "accounts: [acct_1Alpha, acct_2Beta]", "accounts: []",
        "accounts: [acct_1Alpha, acct_1Alpha]", "account: nope", "account: 'acct_3Q'", "account: ~", "scope: user",
        "scope: {type: user, user: usr_1U}", "scope: {user: usr_2U, type: user}", "scope: {type: account}",
        "scope: {type: account, user: usr_1U}", "scope: {type: user}", "scope: {type: user, user: bad}", "scope: bogus",
        "scope: account", "scope: 'account'", "scope: ~", "expires_at: 2099-01-01T00:00:00Z", "expires_at: 4102444800",
        "expires_at: '4102444800'", "expires_at: 1", "expires_at: soon", "expires_at: 2027-01-15T08:00:00Z",
        "expires_at: 10000-01-01T00:00:00Z", "protect: true", "protect: False", "protect: yes", "protect: 'true'",
        "nmae: typo", "name: again", "value: &a {env: A}", "value: *a", "tag: !!str x", "accounts: acct_1Alpha",
        "accounts: [acct_1Alpha, ~]", "accounts: [acct_1Alpha, [x]]",
    ]

    /// Valid choices only, one per kind of field: what a generated clean manifest uses.
    private static let cleanNames = ["api_key", "é", "e\u{301}", "a/b", "'q'", "secret_1", "secret_2", "1", "no"]
    private static let cleanValues = [
        "{env: API_KEY}", "{file: keys/a.txt}", "{file: b.txt, trim_newline: false}", "\n      env: BLOCK_VAR",
        "{'env': \"QUOTED\"}", "{file: c.txt, trim_newline: TRUE}",
    ]
    private static let cleanExtras = [
        ["account: acct_1Alpha", "accounts: [acct_1Alpha, acct_2Beta]", "account: 'acct_3Q'", "accounts: [acct_4D]"],
        [
            "scope: {type: user, user: usr_1U}", "scope: {user: usr_2U, type: user}", "scope: {type: account}",
            "scope: account",
        ],
        ["expires_at: 2099-01-01T00:00:00Z", "expires_at: 4102444800", "expires_at: '2099-01-01T00:00:00+02:00'"],
        ["protect: true", "protect: False"],
    ]

    private func cleanSecret(_ random: inout SeededRandom) -> String {
        var lines = [
            "name: \(Self.cleanNames.randomElement(using: &random)!)",
            "value: \(Self.cleanValues.randomElement(using: &random)!)",
        ]
        for kind in Self.cleanExtras where Bool.random(using: &random) {
            lines.append(kind.randomElement(using: &random)!)
        }
        lines.shuffle(using: &random)
        return "  - " + lines.joined(separator: "\n    ")
    }

    private func secret(_ random: inout SeededRandom) -> String {
        if Bool.random(using: &random) { return cleanSecret(&random) }
        var lines = [
            "name: \(Self.names.randomElement(using: &random)!)",
            "value: \(Self.values.randomElement(using: &random)!)",
        ]
        for _ in 0..<Int.random(in: 0...3, using: &random) { lines.append(Self.extras.randomElement(using: &random)!) }
        lines.shuffle(using: &random)
        if Int.random(in: 0..<10, using: &random) == 0 { lines.removeFirst() }
        if Int.random(in: 0..<6, using: &random) == 0 {
            return "  - {" + lines.filter { !$0.contains("\n") }.joined(separator: ", ") + "}"
        }
        return "  - " + lines.joined(separator: "\n    ")
    }

    private func manifest(_ random: inout SeededRandom) -> String {
        if Int.random(in: 0..<3, using: &random) == 0 {
            let secrets = (0..<Int.random(in: 0...14, using: &random)).map { _ in cleanSecret(&random) }
            let defaults = [
                "", "defaults:\n  account: acct_9Dflt",
                "defaults:\n  scope: {type: user, user: usr_9Dflt}\n  protect: true",
                "defaults: {scope: account, protect: false}", "defaults: {}",
            ]
            var parts = [
                "version: 1", secrets.isEmpty ? "secrets: []" : "secrets:\n" + secrets.joined(separator: "\n"),
                defaults.randomElement(using: &random)!,
            ]
            parts.shuffle(using: &random)
            return parts.joined(separator: "\n") + "\n"
        }
        var secrets = (0..<Int.random(in: 0...14, using: &random)).map { _ in secret(&random) }
        if Int.random(in: 0..<8, using: &random) == 0 {
            // A full scope: the eleventh secret of one account.
            secrets += (0..<11).map { "  - {name: n\($0), account: acct_7Full, value: {env: V\($0)}}" }
        }
        var parts = [
            ["version: 1", "version: 1", "version: 1", "version: 2", "version: '1'", "version: 01", "version: ~"]
                .randomElement(using: &random)!,
            secrets.isEmpty ? "secrets: []" : "secrets:\n" + secrets.joined(separator: "\n"),
        ]
        let defaults = [
            "", "", "defaults:\n  account: acct_9Dflt",
            "defaults:\n  scope: {type: user, user: usr_9Dflt}\n  protect: true",
            "defaults: {scope: account, protect: false}", "defaults:\n  account: bad", "defaults: [x]", "defaults: {}",
            "defaults:", "defaults: {scope: user}", "defaults: {protect: true, protect: false}",
        ]
        parts.append(defaults.randomElement(using: &random)!)
        if Int.random(in: 0..<12, using: &random) == 0 {
            parts.append("secrets:\n  - name: second\n    value: {env: B}")
        }
        if Int.random(in: 0..<12, using: &random) == 0 { parts.append("extra: 1") }
        if Int.random(in: 0..<12, using: &random) == 0 { parts.append("version: 1") }
        if Int.random(in: 0..<12, using: &random) == 0 { parts.removeFirst() }
        parts.shuffle(using: &random)
        let text = parts.joined(separator: "\n") + "\n"
        return Int.random(in: 0..<15, using: &random) == 0 ? text + "---\nversion: 1\n" : text
    }

    /// The decoder's verdict as text: the secrets and the diagnostics in order.
    private func verdict(_ bytes: [UInt8], fastPath: Bool, limits: ParseLimits) -> String {
        let (secrets, diagnostics) = ManifestDecoder.decode(
            bytes, limits: limits, file: "m.yaml", now: fixedNow, fastPath: fastPath)
        return String(describing: secrets) + "\n" + diagnostics.map(\.description).joined(separator: "\n")
    }

    /// Whether the fast path read `bytes` (and did not give up).
    private func isReadFast(_ bytes: [UInt8], limits: ParseLimits = ParseLimits()) -> Bool {
        ManifestFastPath.secrets(in: bytes, limits: limits, file: "m.yaml", now: fixedNow) != nil
    }

    private func expectSameVerdict(_ bytes: [UInt8], limits: ParseLimits = ParseLimits(), _ note: String) {
        #expect(
            verdict(bytes, fastPath: true, limits: limits) == verdict(bytes, fastPath: false, limits: limits),
            "\(note): \(String(decoding: bytes, as: UTF8.self))")
    }

    @Test func theFastPathReadsEveryGeneratedManifestAsTheDecoderDoes() {
        var random = SeededRandom(seed: 23)
        var (fast, valid) = (0, 0)
        for round in 0..<2500 {
            let bytes = Array(manifest(&random).utf8)
            expectSameVerdict(bytes, "round \(round)")
            if isReadFast(bytes) { fast += 1 }
            if ManifestDecoder.decode(bytes, limits: ParseLimits(), file: "m.yaml", now: fixedNow, fastPath: false)
                .diagnostics.isEmpty
            {
                valid += 1
            }
        }
        // Both paths are exercised, and the fast one takes every valid manifest (and some that
        // only the uniqueness check refuses).
        #expect(valid > 500 && fast >= valid && fast < 2000, "\(fast) read fast, \(valid) valid")
    }

    @Test func theFastPathReadsEveryBrokenManifestAsTheDecoderDoes() {
        var random = SeededRandom(seed: 29)
        let replacements = [
            "\"", ":", "- ", "\n", "\t", "{", "}", "[", "]", "&a ", "*a", "!!str ", "#", "'", "---\n", "", " ", "\r",
            "é", "\u{2028}", "secrets:", ",", "~", "? ", "\u{FEFF}", "...\n",
        ]
        for round in 0..<2500 {
            var bytes = Array(manifest(&random).utf8)
            for _ in 0...Int.random(in: 0...2, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                let width = Int.random(in: 0...4, using: &random)
                bytes.replaceSubrange(
                    at..<min(at + width, bytes.count), with: Array(replacements.randomElement(using: &random)!.utf8))
            }
            if Int.random(in: 0..<10, using: &random) == 0 { bytes.insert(contentsOf: [0xEF, 0xBB, 0xBF], at: 0) }
            if Int.random(in: 0..<20, using: &random) == 0 { bytes.append(0xFF) }
            let limits = ParseLimits(
                maxBytes: Int.random(in: 0..<20, using: &random) == 0 ? 40 : 1 << 20,
                maxDepth: [64, 64, 64, 2, 3, 4].randomElement(using: &random)!)
            expectSameVerdict(bytes, limits: limits, "round \(round)")
        }
    }

    @Test func theFastPathTakesEveryShapeOfAValidManifest() {
        let manifests = [
            "version: 1\nsecrets: []\n",
            "secrets:\n  - name: a\n    value: {env: A}\nversion: 1\ndefaults: {account: acct_1D, protect: true}\n",
            "{version: 1, secrets: [{name: a, value: {file: f, trim_newline: false}, scope: {type: user, user: usr_1}}]}",
            "\u{FEFF}version: 1\r\nsecrets:\r\n  - name: \"é\"\r\n    value:\r\n      env: A\r\n    accounts: [acct_1, acct_2]\r\n",
            "version: 1\ndefaults:\n  scope:\n    type: user\n    user: usr_9\nsecrets:\n  - name: a\n    value: {env: A}\n    expires_at: 4102444800\n",
        ]
        for text in manifests {
            let bytes = Array(text.utf8)
            #expect(isReadFast(bytes), "\(text)")
            expectSameVerdict(bytes, text)
        }
    }
}
