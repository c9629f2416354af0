import SecretsModel
import Testing

/// `StrictJSON` on its own: a value's strings are checked without being kept, and the path in a
/// message is spelt out only when one is reported; both must refuse and name exactly what they did.
@Suite struct StrictJSONTests {
    private static let shape = JSONShape.object([
        "name": .scalar, "list": .array(.object(["id": .scalar, "tags": .array(.scalar)])), "free": .any,
    ])

    private func problem(_ text: String, shape: JSONShape = Self.shape) -> String? {
        do {
            try StrictJSON.check(Array(text.utf8), shape: shape)
            return nil
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        #"{"name": "plain"}"#,
        #"{"name": "a\"b\\c\/d\b\f\n\r\t"}"#,
        #"{"name": "\u00e9\u4e2d\ud83d\ude00 é中😀"}"#,
        #"{"list": [{"id": 1, "tags": ["x", -9007199254740992, true, false, null]}, {}]}"#,
        #"{"free": {"any": [{"deep": {"k": "\ud83d\ude00"}}], "n": 9007199254740992}}"#,
        "  {\n\t\"name\" : \"\" }\r\n",
    ])
    func wellFormedDocumentsPass(text: String) {
        #expect(problem(text) == nil)
    }

    @Test(arguments: [
        // Strings, as values and as keys: each is checked in full even when its text is not kept.
        #"{"name": "a\xb"}"#, #"{"name": "\udc00"}"#, #"{"name": "\ud800\u0041"}"#, #"{"name": "\u12"}"#,
        "{\"name\": \"tab\there\"}", #"{"name": "open}"#, #"{"name": "\"#, #"{"na\qme": 1}"#,
        #"{"list": [{"id": "\ud800"}]}"#, "{\"free\": {\"k\": \"a\u{1}\"}}",
        // Structure.
        #"{"name": 1,}"#, #"{"name" 1}"#, #"{"list": [1 2]}"#, #"{} {}"#, #"{"name": tru}"#, #"{"name": 01}"#,
        #"{"name": -}"#,
    ])
    func malformedDocumentsAreNotJSON(text: String) {
        #expect(problem(text) == "not valid JSON")
    }

    @Test(arguments: [
        (#"{"name": 1, "name": 2}"#, "name appears twice"),
        (#"{"name": 1, "n\u0061me": 2}"#, "name appears twice"),
        (#"{"list": [{}, {"id": 1, "id": 2}]}"#, "list[1].id appears twice"),
        (#"{"list": [{"tags": [1]}, {"tags": [2, 3.5]}]}"#, "list[1].tags[1] must be a whole number"),
        (#"{"list": [{"id": 9007199254740993}]}"#, "list[0].id is beyond the range of exact whole numbers (2^53)"),
        (#"{"list": [{"id": 1e3}]}"#, "list[0].id must be a whole number"),
        (#"{"list": [{"owner": 1}]}"#, "list[0].owner is not a field of this format"),
        (#"{"list": [{"\u001b[2J": 1}]}"#, "list[0].??2J is not a field of this format"),
        (#"{"list": {}}"#, "list must not be an object"),
        (#"{"name": []}"#, "name must not be a list"),
        (#"{"free": {"x": [{"y": 1, "y": 2}]}}"#, "free.x[0].y appears twice"),
        (#"{"free": {"x": [18014398509481984]}}"#, "free.x[0] is beyond the range of exact whole numbers (2^53)"),
        (#"[1]"#, "the document must not be a list"),
        (
            #"{"\#(String(repeating: "k", count: 41))": 1}"#,
            "\(String(repeating: "k", count: 40))… is not a field of this format"
        ),
        // A key's own message names its path as it is, even empty; a value's says "the document".
        (#"{"": 1}"#, " is not a field of this format"),
        (#"{"name": {}}"#, "name must not be an object"),
    ])
    func aProblemNamesItsPlace(text: String, expected: String) {
        #expect(problem(text) == expected)
    }

    @Test func deepNestingNamesThePathAtTheLimit() {
        let text = #"{"free": "# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}"
        #expect(problem(text) == "free" + String(repeating: "[0]", count: 63) + " is nested too deeply")
    }

    @Test func anyShapeTakesAnyKeyButStillNamesPositions() {
        #expect(problem(#"{"": 1}"#, shape: .any) == nil)
        #expect(problem(#"{"": 1, "": 2}"#, shape: .any) == " appears twice")
        #expect(problem(#"{"": {"a": 1.5}}"#, shape: .any) == "a must be a whole number")
        #expect(problem(#"[0, {"a": 1, "a": 2}]"#, shape: .any) == "[1].a appears twice")
    }
}
