import TestSupport
import Testing

@testable import StrictYAML

/// Strict events against the tree `parse` builds, and the word-at-a-time text check against the
/// byte loop it skips ahead of.
@Suite struct EventTests {

    /// A node written out with every style and mark, so two trees compare as text.
    private func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\(scalar.mark)\(scalar.style):\(Array(scalar.value.utf8))"
        case .mapping(let mapping):
            "\(mapping.mark){"
                + mapping.entries.map { describe(.scalar($0.key)) + "=" + describe($0.value) }.joined(separator: ",")
                + "}"
        case .sequence(let sequence): "\(sequence.mark)[" + sequence.items.map(describe).joined(separator: ",") + "]"
        case .invalid(let mark): "\(mark)!"
        }
    }

    /// The tree the events describe, written as `describe` writes a node: `.some(nil)` for a
    /// text without a document, nil when the events stop.
    private func tree(fromEventsOf bytes: [UInt8], limits: ParseLimits) -> String?? {
        StrictYAMLParser.withEvents(bytes, limits: limits) { events -> String?? in
            guard let events else {
                let document = StrictYAMLParser.parse(bytes, limits: limits)
                // Nothing to read: an empty text (no document, no problem) or one refused whole.
                return document.problems.isEmpty ? .some(nil) : nil
            }
            func node(_ event: StrictEvent?) -> String? {
                switch event {
                case .scalar(let scalar)?:
                    return describe(.scalar(Scalar(value: scalar.string, style: scalar.style, mark: scalar.mark)))
                case .mappingStart(let mark)?:
                    var entries: [String] = []
                    while true {
                        let key = events.next()
                        if case .collectionEnd? = key { break }
                        guard case .scalar? = key, let keyText = node(key), let value = node(events.next()) else {
                            return nil
                        }
                        entries.append(keyText + "=" + value)
                    }
                    return "\(mark){" + entries.joined(separator: ",") + "}"
                case .sequenceStart(let mark)?:
                    var items: [String] = []
                    while true {
                        let item = events.next()
                        if case .collectionEnd? = item { break }
                        guard let text = node(item) else { return nil }
                        items.append(text)
                    }
                    return "\(mark)[" + items.joined(separator: ",") + "]"
                case .end?, .collectionEnd?, nil:
                    return nil
                }
            }
            let first = events.next()
            if case .end? = first { return .some(nil) }
            guard let root = node(first), case .end? = events.next() else { return nil }
            // Once ended, the events stay ended.
            guard case .end? = events.next() else { return nil }
            return .some(root)
        }
    }

    private static let pieces = [
        "secrets:", "- ", "  ", "name: a", "value: {env: X}", "k: v", "secrets: [", "]", "{", "}", ", ", "&a ", "*a",
        "!!str ", "\n", "\n  ", "\n    ", "#c", "'q'", "\"d\\x41\"", "---\n", "|\n  t\n", "k: [1]", "\"k\": ",
        "[a, {b: c}]", "é: ü", "\t", ":", "? ", "k:\n  - ", "version: 1\n", "\u{2028}", "\r", "~", "...\n", "k: v\n",
    ]

    @Test func eventsDescribeTheTreeAndStopAtEveryProblemButDuplicateKeys() {
        var random = SeededRandom(seed: 5)
        var complete = 0
        for round in 0..<4000 {
            var text = round.isMultiple(of: 3) ? "version: 1\nsecrets:\n  - name: a\n    k: [1, 2]\n  - b\n" : ""
            for _ in 0..<Int.random(in: 1...14, using: &random) {
                text += Self.pieces.randomElement(using: &random)!
            }
            let limits = ParseLimits(
                maxBytes: Int.random(in: 0..<20, using: &random) == 0 ? 10 : 1 << 20,
                maxDepth: Int.random(in: 2...6, using: &random))
            let bytes = Array(text.utf8)
            let document = StrictYAMLParser.parse(bytes, limits: limits)
            let onlyDuplicates = document.problems.allSatisfy { $0.message.hasPrefix("duplicate key (first at ") }
            if let fromEvents = tree(fromEventsOf: bytes, limits: limits) {
                complete += 1
                #expect(onlyDuplicates, "round \(round): the events go on past \(document.problems): \(text)")
                if document.problems.isEmpty {
                    #expect(fromEvents == document.root.map(describe), "round \(round): \(text)")
                }
            } else {
                #expect(!onlyDuplicates, "round \(round): the events stop at no problem: \(text)")
            }
        }
        #expect(complete > 300, "\(complete) texts read to the end")
    }

    @Test func scalarEventsCompareAndReadNullAsScalarsDo() {
        for (text, style) in [
            ("", ScalarStyle.plain), ("~", .plain), ("null", .plain), ("Null", .plain), ("NULL", .plain),
            ("nul", .plain), ("nulls", .plain), ("null", .singleQuoted), ("", .doubleQuoted), ("é", .plain),
        ] {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                let event = ScalarEvent(bytes: buffer, style: style, mark: Mark(line: 1, column: 1))
                #expect(event.isNull == Scalar(value: text, style: style, mark: event.mark).isNull, "\(text) \(style)")
                #expect(event.string == text)
                #expect(event.hasBytes("null") == (text == "null"))
            }
        }
    }

    /// The check byte by byte: each byte that may start a problem is checked with the two after
    /// it alone (too few for the word-at-a-time scan), the first problem found there wins.
    private func firstProblemByteByByte(_ bytes: [UInt8]) -> YAMLProblem? {
        bytes.withUnsafeBufferPointer { text in
            if text.starts(with: [0xFF, 0xFE]) || text.starts(with: [0xFE, 0xFF]) {
                return TextCheck.firstProblem(in: UnsafeBufferPointer(rebasing: text[0..<2]))
            }
            for index in text.indices where [0x0D, 0xC2, 0xE2].contains(text[index]) {
                let window = UnsafeBufferPointer(rebasing: text[index..<min(index + 3, text.count)])
                // At 1:1 the problem starts at `index` itself (the window's later bytes are further right).
                if let problem = TextCheck.firstProblem(in: window), problem.mark == Mark(line: 1, column: 1) {
                    return YAMLProblem(problem.message, at: TextCheck.mark(ofByteOffset: index, in: text))
                }
            }
            return nil
        }
    }

    @Test func theTextCheckFindsWhatTheByteLoopFinds() {
        var random = SeededRandom(seed: 11)
        let pieces: [[UInt8]] = [
            Array("abcdefgh".utf8), Array("a: b\n".utf8), [0x0D, 0x0A], [0x0D], [0xC2, 0x85], [0xC2, 0xA0],
            [0xE2, 0x80, 0xA8], [0xE2, 0x80, 0xA9], [0xE2, 0x80, 0xA7], [0xE2, 0x80], [0xC2], Array("é".utf8),
            [0x7F], [0x00], [0x8D], [0xFF, 0xFE],
        ]
        for round in 0..<4000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                bytes += pieces.randomElement(using: &random)!
                if Bool.random(using: &random) {
                    bytes += Array(repeating: 0x61, count: Int.random(in: 0...9, using: &random))
                }
            }
            let fast = bytes.withUnsafeBufferPointer { TextCheck.firstProblem(in: $0) }
            #expect(fast == firstProblemByteByByte(bytes), "round \(round): \(bytes)")
        }
    }
}
