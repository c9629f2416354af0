import Testing
@testable import StrictYAML

/// Inputs made to exhaust the stack, memory or time, read with the manifest's limits: each is
/// refused at once, at the place where it goes wrong, or read without expanding anything.
@Suite struct HostileYAMLTests {
    private func problems(_ bytes: [UInt8]) -> [String] {
        StrictYAMLParser.parse(bytes).problems.map { "\($0.mark): \($0.message)" }
    }

    @Test(arguments: [("[", 65), ("{", 65), ("- ", 129)])
    func deepFlowOrBlockNestingStopsAtTheLimit(opener: String, column: Int) {
        let document = StrictYAMLParser.parse(Array(String(repeating: opener, count: 100_000).utf8))
        #expect(document.root == nil)
        #expect(
            document.problems == [
                YAMLProblem("the document nests deeper than 64 levels", at: Mark(line: 1, column: column))
            ])
    }

    @Test func deepIndentedMappingsStopAtTheLimit() {
        let text = (0..<1000).map { String(repeating: " ", count: $0) + "a:\n" }.joined()
        #expect(problems(Array(text.utf8)) == ["65:65: the document nests deeper than 64 levels"])
    }

    @Test func aFiftyMegabyteScalarIsReadWhole() throws {
        let document = StrictYAMLParser.parse(
            Array("a: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 50 << 20))
        #expect(document.problems.isEmpty)
        guard case .mapping(let mapping) = try #require(document.root),
            case .scalar(let scalar) = mapping.entries[0].value
        else {
            Issue.record("not a mapping of a scalar")
            return
        }
        #expect(scalar.value.utf8.count == 50 << 20)
    }

    @Test func aFileOverTheByteLimitIsRefusedUnread() {
        let bytes = [UInt8](repeating: UInt8(ascii: "x"), count: (64 << 20) + 1)
        #expect(problems(bytes) == ["1:1: the file is 67108865 bytes; manifests are limited to 67108864 bytes"])
    }

    @Test func aDuplicateAmongAHundredThousandKeysIsFound() throws {
        let text = (0..<100_000).map { "k\($0): 0\n" }.joined() + "k0: 1\n"
        let document = StrictYAMLParser.parse(Array(text.utf8))
        #expect(document.problems == [YAMLProblem("duplicate key (first at 1:1)", at: Mark(line: 100_001, column: 1))])
        guard case .mapping(let mapping) = try #require(document.root) else {
            Issue.record("not a mapping")
            return
        }
        #expect(mapping.entries.count == 100_000)
    }

    @Test(
        arguments: [
            ([0xFF, 0x0A], "1:4: the file is not valid UTF-8 text: invalid leading UTF-8 octet (byte 0xFF)"),
            ([0xC3], "1:4: the file is not valid UTF-8 text: incomplete UTF-8 octet sequence"),
            ([0xC3, 0x0A], "1:5: the file is not valid UTF-8 text: invalid trailing UTF-8 octet (byte 0x0A)"),
            ([0xC0, 0x80], "1:4: the file is not valid UTF-8 text: invalid length of a UTF-8 sequence"),
            ([0xED, 0xA0, 0x80], "1:4: the file is not valid UTF-8 text: invalid Unicode character (U+D800)"),
            ([0xF4, 0x90, 0x80, 0x80], "1:4: the file is not valid UTF-8 text: invalid Unicode character (U+110000)"),
        ] as [([UInt8], String)])
    func invalidUTF8IsNamedWhereItIs(value: [UInt8], problem: String) {
        #expect(problems(Array("a: ".utf8) + value) == [problem])
    }

    /// Billion laughs: nine anchors, each a list of nine aliases of the one before.
    @Test func anAliasBombIsRefusedWithoutExpansion() {
        var text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for (name, previous) in zip("bcdefghi", "abcdefgh") {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        let found = problems(Array(text.utf8))
        #expect(found.count == 9 + 8 * 9)
        #expect(
            found.filter { $0.hasSuffix("anchors (&name) are not allowed; write each value out in full") }.count == 9)
        #expect(found[2] == "2:8: aliases (*name) are not allowed; write the value out in full")
    }
}
