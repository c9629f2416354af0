import CYAML
import SecretsModel

/// A problem found while reading YAML, at the place it was found.
public struct YAMLProblem: Error, Equatable, Sendable {
    public let message: String
    public let mark: Mark

    public init(_ message: String, at mark: Mark) {
        self.message = message
        self.mark = mark
    }
}

/// What strict parsing produced: the tree (nil when the text holds no document or could not
/// be read) and every problem found, in document order.
public struct ParsedDocument: Sendable {
    public let root: Node?
    public let problems: [YAMLProblem]
}

/// Bounds that keep a hostile or mistaken input from using unbounded memory or stack.
public struct ParseLimits: Sendable {
    public var maxBytes: Int
    public var maxDepth: Int

    public init(maxBytes: Int = 64 << 20, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }
}

/// Strict YAML: one document read through libyaml's event API into a `Node` tree.
///
/// Refused, each as a `YAMLProblem`: anchors, aliases, tags, duplicate mapping keys (compared
/// byte for byte), non-scalar keys, a second document, input over `maxBytes`, nesting over
/// `maxDepth`, line breaks that editors do not show (NEL, U+2028, U+2029, a lone CR), UTF-16
/// text, and everything libyaml itself rejects (with libyaml's own words). A UTF-8 BOM is
/// accepted. Problems that leave the tree intact do not stop the parse, so a caller sees them
/// all at once; libyaml syntax errors, unreadable text and exceeded limits do. No message
/// quotes a key or a value: a secret pasted into the wrong place is never echoed.
public enum StrictYAMLParser {
    public static func parse(_ bytes: [UInt8], limits: ParseLimits = ParseLimits()) -> ParsedDocument {
        read(bytes, limits: limits) { reading in
            switch reading {
            case nil:
                return ParsedDocument(root: nil, problems: [])
            case .failure(let problem):
                return ParsedDocument(root: nil, problems: [problem])
            case .success(let reader):
                var builder = TreeBuilder(maxDepth: limits.maxDepth)
                builder.run(reader)
                return ParsedDocument(root: builder.root, problems: builder.problems)
            }
        }
    }

    /// Calls `body` with a libyaml reader of `bytes` (after a UTF-8 BOM), or with the problem
    /// found in the whole text before libyaml reads it; nil for a text with no document. The
    /// reader points into `bytes` and must not outlive `body`.
    static func read<Answer>(
        _ bytes: [UInt8], limits: ParseLimits, _ body: (Result<EventReader, YAMLProblem>?) -> Answer
    ) -> Answer {
        guard bytes.count <= limits.maxBytes else {
            let problem = YAMLProblem(
                "the file is \(bytes.count) bytes; manifests are limited to \(limits.maxBytes) bytes",
                at: Mark(line: 1, column: 1))
            return body(.failure(problem))
        }
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let start = bytes.starts(with: bom) ? bom.count : 0
        return bytes.withUnsafeBufferPointer { buffer in
            let text = UnsafeBufferPointer(rebasing: buffer[start...])
            guard let base = text.baseAddress, !text.isEmpty else { return body(nil) }
            if let problem = TextCheck.firstProblem(in: text) { return body(.failure(problem)) }
            return body(.success(EventReader(start: base, count: text.count)))
        }
    }
}

/// Owns a libyaml parser reading `text`, which the caller keeps alive while it is used.
final class EventReader {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let text: UnsafeBufferPointer<UInt8>
    private let initialized: Bool

    init(start: UnsafePointer<UInt8>, count: Int) {
        text = UnsafeBufferPointer(start: start, count: count)
        initialized = yaml_parser_initialize(parser) != 0
        if initialized {
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser, start, count)
        }
    }

    deinit {
        if initialized { yaml_parser_delete(parser) }
        parser.deallocate()
    }

    /// Reads the next event into `event`, or returns the problem libyaml reported.
    func next(_ event: UnsafeMutablePointer<yaml_event_t>) -> YAMLProblem? {
        guard initialized else {
            return YAMLProblem("libyaml could not be initialised", at: Mark(line: 1, column: 1))
        }
        if yaml_parser_parse(parser, event) != 0 { return nil }
        return currentProblem()
    }

    private func currentProblem() -> YAMLProblem {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unreadable YAML"
        switch state.error {
        case YAML_READER_ERROR:
            let at = TextCheck.mark(ofByteOffset: state.problem_offset, in: text)
            if problem == "control characters are not allowed" {
                return YAMLProblem(
                    "the file holds a control character (\(TextCheck.codePoint(state.problem_value))); remove it",
                    at: at)
            }
            // libyaml gives the offending byte, or the code point of one that is no Unicode scalar.
            let byte = String(state.problem_value, radix: 16, uppercase: true)
            let detail =
                state.problem_value > 0xFF
                ? " (\(TextCheck.codePoint(state.problem_value)))"
                : state.problem_value >= 0 ? " (byte 0x\(byte.count == 1 ? "0" + byte : byte))" : ""
            return YAMLProblem("the file is not valid UTF-8 text: \(problem)\(detail)", at: at)
        case YAML_MEMORY_ERROR:
            return YAMLProblem("libyaml ran out of memory", at: Mark(line: 1, column: 1))
        default:
            var message = problem
            if let context = state.context.map({ String(cString: $0) }) {
                message += " \(context)"
                if state.context_mark.index != state.problem_mark.index {
                    message += " (which starts at \(Mark(state.context_mark)))"
                }
            }
            let at = Mark(state.problem_mark)
            if TextCheck.byte(at: at, in: text) == UInt8(ascii: "\t") {
                message += "; indent with spaces: YAML does not allow tabs here"
            }
            return YAMLProblem(message, at: at)
        }
    }
}

extension Mark {
    /// Converts libyaml's 0-based mark, once, at the C boundary.
    init(_ mark: yaml_mark_t) {
        self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}

/// Turns libyaml events into a tree, collecting strictness problems on the way.
private struct TreeBuilder {
    /// A collection being built; one type for both kinds keeps the stack mutation in place.
    private struct Frame {
        let isMapping: Bool
        let mark: Mark
        var items: [Node] = []
        var entries: [MappingEntry] = []
        var pendingKey: Scalar?
        /// The key just read was refused (duplicate or not a scalar): drop its value.
        var dropsNextValue = false
        var expectsKey = true
        /// Built once a mapping is large enough that scanning `entries` would be slow.
        var keyMarks: [KeyBytes: Mark] = [:]

        private static let indexThreshold = 8

        /// Adds an item, a key or a value; returns the problem when a key is refused.
        mutating func add(_ node: Node) -> YAMLProblem? {
            if !isMapping {
                items.append(node)
                return nil
            }
            if expectsKey {
                if entries.isEmpty { entries.reserveCapacity(4) }
                return acceptKey(node)
            }
            if let key = pendingKey, !dropsNextValue {
                entries.append(MappingEntry(key: key, value: node))
                if !keyMarks.isEmpty { keyMarks[KeyBytes(key.value)] = key.mark }
            }
            pendingKey = nil
            dropsNextValue = false
            expectsKey = true
            return nil
        }

        private mutating func acceptKey(_ node: Node) -> YAMLProblem? {
            expectsKey = false
            guard case .scalar(let key) = node else {
                dropsNextValue = true
                if case .invalid = node { return nil }
                return YAMLProblem("mapping keys must be plain text, not a collection", at: node.mark)
            }
            if let first = firstMark(of: key.value) {
                dropsNextValue = true
                return YAMLProblem("duplicate key (first at \(first))", at: key.mark)
            }
            pendingKey = key
            return nil
        }

        /// Where `key` already appears, byte for byte (`"é"` and `"e\u{301}"` are two keys):
        /// small mappings are scanned, large ones indexed.
        private mutating func firstMark(of key: String) -> Mark? {
            if entries.count < Self.indexThreshold {
                return entries.first(where: { $0.key.value.hasSameBytes(as: key) })?.key.mark
            }
            if keyMarks.isEmpty {
                for entry in entries { keyMarks[KeyBytes(entry.key.value)] = entry.key.mark }
            }
            return keyMarks[KeyBytes(key)]
        }
    }

    let maxDepth: Int
    private(set) var root: Node?
    private(set) var problems: [YAMLProblem] = []
    private var stack: [Frame] = []
    private var documents = 0

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    mutating func run(_ reader: EventReader) {
        var event = yaml_event_t()
        while true {
            if let problem = reader.next(&event) {
                problems.append(problem)
                return
            }
            let keepGoing = handle(event)
            yaml_event_delete(&event)
            if !keepGoing { return }
        }
    }

    /// Handles one event; returns false when parsing must stop.
    private mutating func handle(_ event: yaml_event_t) -> Bool {
        let mark = Mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return false
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                problems.append(
                    YAMLProblem(
                        "a manifest is one YAML document, but a second one starts here; remove the extra '---' section",
                        at: mark))
                return false
            }
        case YAML_ALIAS_EVENT:
            problems.append(
                YAMLProblem(
                    "aliases (*name) are not allowed; write the value out in full", at: mark))
            attach(.invalid(mark))
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            checkAnchor(data.anchor, at: mark)
            checkTag(data.tag, at: mark)
            let value =
                data.value.map {
                    String(decoding: UnsafeBufferPointer(start: $0, count: data.length), as: UTF8.self)
                } ?? ""
            attach(.scalar(Scalar(value: value, style: ScalarStyle(data.style), mark: mark)))
        case YAML_SEQUENCE_START_EVENT:
            checkAnchor(event.data.sequence_start.anchor, at: mark)
            checkTag(event.data.sequence_start.tag, at: mark)
            return open(Frame(isMapping: false, mark: mark))
        case YAML_MAPPING_START_EVENT:
            checkAnchor(event.data.mapping_start.anchor, at: mark)
            checkTag(event.data.mapping_start.tag, at: mark)
            return open(Frame(isMapping: true, mark: mark))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let frame = stack.removeLast()
            attach(
                frame.isMapping
                    ? .mapping(MappingNode(entries: frame.entries, mark: frame.mark))
                    : .sequence(SequenceNode(items: frame.items, mark: frame.mark)))
        default:
            break
        }
        return true
    }

    private mutating func open(_ frame: Frame) -> Bool {
        guard stack.count < maxDepth else {
            problems.append(
                YAMLProblem(
                    "the document nests deeper than \(maxDepth) levels", at: frame.mark))
            return false
        }
        stack.append(frame)
        return true
    }

    /// Adds a finished node to the collection being built, or makes it the root.
    private mutating func attach(_ node: Node) {
        guard !stack.isEmpty else {
            root = node
            return
        }
        // Mutating the top frame in place keeps large collections from being copied.
        if let problem = stack[stack.count - 1].add(node) { problems.append(problem) }
    }

    private mutating func checkAnchor(_ anchor: UnsafeMutablePointer<yaml_char_t>?, at mark: Mark) {
        guard anchor != nil else { return }
        // The anchor's name is not shown: `&…` may be the start of a value pasted inline.
        problems.append(YAMLProblem("anchors (&name) are not allowed; write each value out in full", at: mark))
    }

    /// Tags are refused: the schema decides types, and `!!str 1` or `!!int a` would only
    /// make a manifest mean something other than it reads.
    private mutating func checkTag(_ pointer: UnsafeMutablePointer<yaml_char_t>?, at mark: Mark) {
        guard pointer != nil else { return }
        problems.append(YAMLProblem("tags (such as !!str or !name) are not allowed; remove the tag", at: mark))
    }
}

extension ScalarStyle {
    init(_ style: yaml_scalar_style_t) {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: self = .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: self = .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: self = .literal
        case YAML_FOLDED_SCALAR_STYLE: self = .folded
        default: self = .plain
        }
    }
}
