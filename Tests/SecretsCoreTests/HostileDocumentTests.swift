import SecretsModel
import Testing
@testable import SecretsCore

/// State documents and manifests made to exhaust the stack, memory or time: each is refused at
/// once with a message that says what is wrong (and where), never quoting what it was given.
@Suite struct HostileDocumentTests {
    private static let start =
        #"{"format": "stripe-secrets-state", "format_version": 1, "lineage": "L", "serial": 0, "#
        + #""fingerprint_key": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", "secrets": ["#

    private func record(_ number: Int) -> String {
        #"{"address": "account/k\#(number)", "id": "appsecret_\#(number)", "applied_at": "2026-01-02T03:04:05Z"}"#
    }

    /// What reading `text` as a state says, or "read".
    private func reading(_ text: String) -> String {
        do {
            _ = try StateDocument.decode(Array(text.utf8), path: "s.json")
            return "read"
        } catch {
            return error.description
        }
    }

    private func corrupt(_ detail: String) -> String {
        "s.json is corrupt (\(detail)); it was left untouched. The previous version, if any, is in s.json.backup"
    }

    @Test func deepNestingIsRefusedAtTheLimitWithItsPath() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            try StrictJSON.check(Array(deep.utf8), shape: .any)
        } throws: { error in
            (error as? StrictJSON.Problem)?.description == String(repeating: "[0]", count: 64) + " is nested too deeply"
        }
        #expect(reading(Self.start + deep + "]}") == corrupt("not valid JSON"))
    }

    @Test(arguments: [
        (String(repeating: "9", count: 10_000_000), "serial is beyond the range of exact whole numbers (2^53)"),
        ("9007199254740993", "serial is beyond the range of exact whole numbers (2^53)"),
        ("1e400", "serial must be a whole number"),
    ])
    func hugeNumbersAreRefusedByName(number: String, detail: String) {
        let text = Self.start.replacingOccurrences(of: #""serial": 0"#, with: #""serial": \#(number)"#) + "]}"
        #expect(reading(text) == corrupt(detail))
    }

    @Test func aFiftyMegabyteStringIsRefusedUnquoted() {
        let huge = String(repeating: "x", count: 50 << 20)
        let text = Self.start.replacingOccurrences(of: #""lineage": "L""#, with: #""lineage": "\#(huge)""#) + "]}"
        #expect(reading(text) == corrupt("lineage is not 1 to 64 letters, digits and '-'"))
    }

    @Test func aHundredThousandSecretsReadAndOneListedTwiceIsFound() {
        let records = (0..<100_000).map(record)
        #expect(reading(Self.start + records.joined(separator: ",") + "]}") == "read")
        #expect(
            reading(Self.start + (records + [record(0)]).joined(separator: ",") + "]}")
                == corrupt("account/k0 is listed twice"))
    }

    @Test func invalidUTF8IsRefused() {
        let halves = Self.start.components(separatedBy: #""L""#)
        let bytes = Array((halves[0] + #""L"#).utf8) + [0xFF] + Array((#"""# + halves[1] + "]}").utf8)
        #expect(throws: DocumentError(.state, path: "s.json", .corrupt("not valid JSON"))) {
            try StateDocument.decode(bytes, path: "s.json")
        }
    }

    @Test func aFiftyMegabyteInlineValueIsRefusedUnquoted() {
        let huge = String(repeating: "x", count: 50 << 20)
        let text = "version: 1\nsecrets:\n  - name: a\n    value: \(huge)\n"
        #expect {
            _ = try ManifestLoader.decode(Array(text.utf8), path: "m.yaml", now: 0)
        } throws: { error in
            let diagnostics = (error as? DiagnosticsError)?.diagnostics ?? []
            return diagnostics.map(\.description) == [
                "m.yaml:4:12: error: secret 'a' has its value written inline; secret values must never be in the "
                    + "manifest: reference an environment variable ({env: NAME}) or a file ({file: PATH})"
            ]
        }
    }

    /// Billion laughs inside a secret: every anchor and alias is its own diagnostic, nothing expanded.
    @Test func anAliasBombInAManifestIsRefusedWithoutExpansion() {
        var text = "version: 1\nsecrets:\n  - name: a\n    value: {env: A}\n    x: &a [lol, lol, lol, lol, lol]\n"
        for (name, previous) in zip("bcdefghi", "abcdefgh") {
            text +=
                "    \(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        #expect {
            _ = try ManifestLoader.decode(Array(text.utf8), path: "m.yaml", now: 0)
        } throws: { error in
            let messages = (error as? DiagnosticsError)?.diagnostics.map(\.message) ?? []
            return messages.filter { $0.hasPrefix("anchors (&name) are not allowed") }.count == 9
                && messages.filter { $0.hasPrefix("aliases (*name) are not allowed") }.count == 8 * 9
        }
    }
}
