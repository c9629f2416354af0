/// Pretty JSON, byte for byte as `JSONCoding.encoder` writes it: two-space indents,
/// `"key" : value`, an empty container as `[`, a blank line and `]`, and only quotes,
/// backslashes and control characters escaped (`/` and non-ASCII as they are). For the
/// documents written by the thousand entries, plans and states, where `JSONEncoder` took most of
/// the time. Keys are written in the order given: callers give them sorted, as `.sortedKeys` does.
struct JSONWriter: TextOutputStream {
    /// What is written and not yet handed on by `drain`.
    private(set) var bytes: [UInt8] = []
    private var depth = 0
    /// Whether the innermost open container has no member yet.
    private var isEmpty = true

    /// An object whose members `body` writes, each as `key` and then a value.
    mutating func object(_ body: (inout JSONWriter) -> Void) {
        container(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), body)
    }

    /// An array of `elements`, each written by `body`.
    mutating func array<Elements: Sequence>(
        _ elements: Elements, _ body: (inout JSONWriter, Elements.Element) -> Void
    ) {
        container(open: UInt8(ascii: "["), close: UInt8(ascii: "]")) { writer in
            for element in elements {
                writer.newItem()
                body(&writer, element)
            }
        }
    }

    /// The next member's key; a value must follow.
    mutating func key(_ name: StaticString) {
        newItem()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        append("\" : ")
    }

    /// A string: `text`, or what an address or another streamable value writes.
    mutating func string(_ text: some TextOutputStreamable) {
        bytes.append(UInt8(ascii: "\""))
        text.write(to: &self)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        var rest = value.magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes[start...].reverse()
    }

    mutating func bool(_ value: Bool) {
        append(value ? "true" : "false")
    }

    mutating func null() {
        append("null")
    }

    /// `key` and a string, or `null` when `value` is nil.
    mutating func member(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    /// `key` and an integer, or `null` when `value` is nil.
    mutating func member(_ name: StaticString, _ value: Int64?) {
        key(name)
        if let value { integer(value) } else { null() }
    }

    mutating func member(_ name: StaticString, _ value: Int) {
        key(name)
        integer(Int64(value))
    }

    mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// The document's last byte, a line feed, as `JSONCoding.encodeDocument` ends one.
    mutating func finish() {
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Hands what is written to `emit` once it holds `size` bytes or more, so that a long
    /// document is never held whole.
    mutating func drain(over size: Int, to emit: ([UInt8]) -> Void) {
        guard bytes.count >= size else { return }
        emit(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    private mutating func container(open: UInt8, close: UInt8, _ body: (inout JSONWriter) -> Void) {
        bytes.append(open)
        let outerIsEmpty = isEmpty
        isEmpty = true
        depth += 1
        body(&self)
        depth -= 1
        if isEmpty { bytes.append(UInt8(ascii: "\n")) }
        newLine()
        bytes.append(close)
        isEmpty = outerIsEmpty
    }

    /// The comma after the previous member, if any, and the new member's line.
    private mutating func newItem() {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        newLine()
    }

    private mutating func newLine() {
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    private mutating func append(_ ascii: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }

    /// Appends `text` as a string's inside (what `string` writes between the quotes): its UTF-8
    /// with `"`, `\` and the C0 controls escaped, as `JSONEncoder` escapes them.
    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                default:
                    append("u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
