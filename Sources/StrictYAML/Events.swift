import CYAML

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A scalar of a strict event stream. Its bytes are borrowed from libyaml: valid only until
/// the next call of `StrictEvents.next()`.
public struct ScalarEvent {
    public let bytes: UnsafeBufferPointer<UInt8>
    public let style: ScalarStyle
    public let mark: Mark

    /// The text, copied out.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether the text is `word`, byte for byte.
    public func hasBytes(_ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress else { return true }
        return memcmp(base, word.utf8Start, bytes.count) == 0
    }

    /// Whether the text is `text`'s UTF-8, byte for byte.
    public func hasBytes(of text: String) -> Bool {
        var text = text
        return text.withUTF8 { other in
            guard other.count == bytes.count else { return false }
            guard let mine = bytes.baseAddress, let theirs = other.baseAddress else { return true }
            return memcmp(mine, theirs, other.count) == 0
        }
    }

    /// `Scalar.isNull` on the bytes: a plain `~`, `null` or empty scalar.
    public var isNull: Bool {
        style == .plain && (bytes.isEmpty || hasBytes("~") || hasBytes("null") || hasBytes("Null") || hasBytes("NULL"))
    }
}

/// One event of a strict event stream.
public enum StrictEvent {
    case scalar(ScalarEvent)
    case mappingStart(Mark)
    case sequenceStart(Mark)
    /// The end of the innermost open mapping or sequence.
    case collectionEnd
    /// The end of the text.
    case end
}

/// Strict YAML as events, for a reader that needs no tree (see `StrictYAMLParser.withEvents`).
public final class StrictEvents {
    private let reader: EventReader
    private let maxDepth: Int
    private let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
    private var holdsEvent = false
    private var depth = 0
    private var documents = 0
    /// `.end` was given, or nil: no more events either way.
    private var last: StrictEvent??

    fileprivate init(_ reader: EventReader, maxDepth: Int) {
        self.reader = reader
        self.maxDepth = maxDepth
    }

    deinit {
        if holdsEvent { yaml_event_delete(event) }
        event.deallocate()
    }

    /// The next event; `.end` once the text is read, and nil from the first thing that
    /// `StrictYAMLParser.parse` would report on.
    public func next() -> StrictEvent? {
        if holdsEvent {
            yaml_event_delete(event)
            holdsEvent = false
        }
        if let last { return last }
        while true {
            guard reader.next(event) == nil else { return refuse() }
            holdsEvent = true
            let type = event.pointee.type
            let mark = Mark(event.pointee.start_mark)
            switch type {
            case YAML_STREAM_END_EVENT:
                last = .some(.end)
                return .end
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 { return refuse() }
            case YAML_ALIAS_EVENT:
                return refuse()
            case YAML_SCALAR_EVENT:
                let data = event.pointee.data.scalar
                guard data.anchor == nil, data.tag == nil else { return refuse() }
                let bytes = UnsafeBufferPointer(start: data.value.map { UnsafePointer($0) }, count: data.length)
                return .scalar(ScalarEvent(bytes: bytes, style: ScalarStyle(data.style), mark: mark))
            case YAML_SEQUENCE_START_EVENT:
                let data = event.pointee.data.sequence_start
                guard data.anchor == nil, data.tag == nil, depth < maxDepth else { return refuse() }
                depth += 1
                return .sequenceStart(mark)
            case YAML_MAPPING_START_EVENT:
                let data = event.pointee.data.mapping_start
                guard data.anchor == nil, data.tag == nil, depth < maxDepth else { return refuse() }
                depth += 1
                return .mappingStart(mark)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                depth -= 1
                return .collectionEnd
            default:
                break
            }
            yaml_event_delete(event)
            holdsEvent = false
        }
    }

    private func refuse() -> StrictEvent? {
        last = .some(nil)
        return nil
    }
}

extension StrictYAMLParser {
    /// Calls `body` with the events of `bytes` under the rules of `parse`, without a tree:
    /// the events stop (nil) at the first thing `parse` would report, so a reader that
    /// gets to `.end` read a text without a YAML problem, except duplicate keys, which the
    /// events do not track: such a reader must refuse a key it already saw. `body` gets nil
    /// for a text that `parse` refuses whole (too large, hidden line breaks) or that is empty.
    /// The events must not outlive `body`.
    public static func withEvents<Answer>(
        _ bytes: [UInt8], limits: ParseLimits = ParseLimits(), _ body: (StrictEvents?) -> Answer
    ) -> Answer {
        read(bytes, limits: limits) { reading in
            guard case .success(let reader) = reading else { return body(nil) }
            return body(StrictEvents(reader, maxDepth: limits.maxDepth))
        }
    }
}
