import Testing
@testable import StrictYAML

@Suite struct ParserTests {
    private func parse(_ text: String) -> ParsedDocument {
        StrictYAMLParser.parse(Array(text.utf8))
    }

    private func mapping(_ text: String) throws -> MappingNode {
        let document = parse(text)
        #expect(document.problems.isEmpty)
        guard case .mapping(let mapping) = try #require(document.root) else {
            Issue.record("root is not a mapping")
            return MappingNode(entries: [], mark: Mark(line: 0, column: 0))
        }
        return mapping
    }

    @Test func scalarsKeepTheirTextStyleAndMark() throws {
        let root = try mapping("a: no\nb: 0123\nc: 'x'\nd: \"y\"\ne: |\n  z\nf: ~\n")
        let scalars = root.entries.compactMap { entry -> (String, String, ScalarStyle, Mark, Bool)? in
            guard case .scalar(let s) = entry.value else { return nil }
            return (entry.key.value, s.value, s.style, s.mark, s.isNull)
        }
        #expect(scalars.map(\.1) == ["no", "0123", "x", "y", "z\n", "~"])
        #expect(scalars.map(\.2) == [.plain, .plain, .singleQuoted, .doubleQuoted, .literal, .plain])
        #expect(
            scalars.map(\.3) == [
                Mark(line: 1, column: 4), Mark(line: 2, column: 4), Mark(line: 3, column: 4),
                Mark(line: 4, column: 4), Mark(line: 5, column: 4), Mark(line: 7, column: 4),
            ])
        #expect(scalars.map(\.4) == [false, false, false, false, false, true])
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let root = try mapping("é: ü\n")
        #expect(root.entries[0].value.mark == Mark(line: 1, column: 4))
    }

    @Test(arguments: [
        "a: !!str 1\n", "a: !vault x\n", "a: !!map {b: 1}\n", "%TAG !x! tag:yaml.org,2002:\n---\na: !x!str 1\n",
    ])
    func tagsAreRefusedWithoutBeingQuoted(text: String) {
        let problems = parse(text).problems
        #expect(problems.map(\.message) == ["tags (such as !!str or !name) are not allowed; remove the tag"])
    }

    @Test func keysThatDifferOnlyInNormalisationAreTwoKeys() {
        #expect(parse("\"\u{E9}\": 1\n\"e\u{301}\": 2\n").problems.isEmpty)
        let keys = (0..<20).map { "k\($0): v" } + ["\"\u{E9}\": 1", "\"e\u{301}\": 2"]
        #expect(parse(keys.joined(separator: "\n")).problems.isEmpty)
    }

    @Test func duplicateKeysAreFoundInLargeMappingsToo() {
        let keys = (0..<50).map { "k\($0): v" } + ["k7: again"]
        let document = parse(keys.joined(separator: "\n"))
        #expect(document.problems == [YAMLProblem("duplicate key (first at 8:1)", at: Mark(line: 51, column: 1))])
    }

    @Test func problemsThatKeepTheTreeDoNotStopTheParse() {
        let document = parse("a: &x 1\nb: *x\nb: 2\nc: !t 3\n")
        #expect(
            document.problems.map(\.message) == [
                "anchors (&name) are not allowed; write each value out in full",
                "aliases (*name) are not allowed; write the value out in full",
                "duplicate key (first at 2:1)",
                "tags (such as !!str or !name) are not allowed; remove the tag",
            ])
        #expect(document.root != nil)
    }

    @Test func syntaxErrorsCarryLibyamlsWordsAndPlace() {
        let document = parse("a: [1, 2\nb: 3\n")
        #expect(document.root == nil)
        #expect(
            document.problems == [
                YAMLProblem(
                    "did not find expected ',' or ']' while parsing a flow sequence (which starts at 1:4)",
                    at: Mark(line: 2, column: 2))
            ])
    }

    @Test func limitsAreEnforced() {
        let big = parse(String(repeating: "a", count: 101)).problems
        #expect(
            StrictYAMLParser.parse(Array(String(repeating: "a", count: 101).utf8), limits: ParseLimits(maxBytes: 100))
                .problems
                == [
                    YAMLProblem(
                        "the file is 101 bytes; manifests are limited to 100 bytes", at: Mark(line: 1, column: 1))
                ])
        #expect(big.isEmpty)
        let deep = StrictYAMLParser.parse(Array("[[[[x]]]]".utf8), limits: ParseLimits(maxDepth: 3))
        #expect(deep.problems == [YAMLProblem("the document nests deeper than 3 levels", at: Mark(line: 1, column: 4))])
    }

    @Test func emptyAndBOMOnlyInputsHaveNoDocument() {
        #expect(parse("").root == nil)
        #expect(StrictYAMLParser.parse([0xEF, 0xBB, 0xBF]).root == nil)
    }
}
