/// Which keys each object of a document may hold, checked before the document is decoded.
public indirect enum JSONShape: Sendable {
    /// An object with exactly these keys allowed (each optional; the decoder enforces presence).
    case object([String: JSONShape])
    case array(JSONShape)
    /// A string, number, boolean or null.
    case scalar
    /// Anything, with any keys (still no key twice, no inexact number): for answers whose
    /// fields another decoder picks.
    case any
}

/// A JSON value as `StrictJSON.parse` read it: every number a whole one of at most ±2^53, every
/// object's keys distinct and in the document's order.
public enum JSONValue: Sendable, Equatable {
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null

    /// The member named `key` of an object (objects of ours are small: a linear search).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }
}

/// One key and value of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public let key: String
    public let value: JSONValue
}

/// The checks Foundation's `JSONDecoder` does not make, run on a document's bytes first: one
/// JSON value, no key twice in an object (a reviewer's `jq` and the tool would otherwise read
/// different values), no key the format does not define, no number outside the range a
/// double holds exactly (±2^53) or with a fraction or exponent (no field of ours has one), and
/// at most 64 levels.
public enum StrictJSON {
    /// Why the bytes were refused: what, and where (`secrets[3].mode`).
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func check(_ bytes: [UInt8], shape: JSONShape) throws(Problem) {
        var scanner = Scanner(bytes: bytes, keepsValues: false)
        try scanner.document(shape)
    }

    /// The document's value, after the same checks as `check`: for readers that build their
    /// model from it instead of decoding the bytes a second time.
    public static func parse(_ bytes: [UInt8], shape: JSONShape) throws(Problem) -> JSONValue {
        var scanner = Scanner(bytes: bytes, keepsValues: true)
        return try scanner.document(shape)
    }

    /// One step of the way to a value: an object's key or a list's position.
    private enum Step {
        case key(String)
        case index(Int)
    }

    private struct Scanner {
        let bytes: [UInt8]
        /// Whether values are built (`parse`) or only checked (`check`, which returns `.null`s).
        let keepsValues: Bool
        var index = 0
        /// The way to the value being read; spelt out only for a message.
        private var steps: [Step] = []

        init(bytes: [UInt8], keepsValues: Bool) {
            self.bytes = bytes
            self.keepsValues = keepsValues
        }

        mutating func document(_ shape: JSONShape) throws(Problem) -> JSONValue {
            skipSpace()
            let value = try value(shape, depth: 0)
            skipSpace()
            guard atEnd else { throw invalid() }
            return value
        }

        var atEnd: Bool { index >= bytes.count }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private func invalid() -> Problem { Problem(description: "not valid JSON") }

        /// A problem with the value being read, named by its path (`secrets[3].mode`).
        private func problem(_ text: String) -> Problem {
            let path = path
            return Problem(description: "\(path.isEmpty ? "the document" : path) \(text)")
        }

        /// A problem with the key just read, named by its path as it is, even empty.
        private func keyProblem(_ text: String) -> Problem { Problem(description: "\(path) \(text)") }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func value(_ shape: JSONShape?, depth: Int) throws(Problem) -> JSONValue {
            guard depth < 64 else { throw problem("is nested too deeply") }
            guard let byte = current else { throw invalid() }
            var open = shape
            if case .any = shape { open = nil }
            switch byte {
            case UInt8(ascii: "{"):
                guard case .object(let keys) = open ?? .object([:]) else { throw problem("must not be an object") }
                return try object(keys, unchecked: open == nil, depth: depth)
            case UInt8(ascii: "["):
                guard case .array(let element) = open ?? .array(.scalar) else { throw problem("must not be a list") }
                return try array(open == nil ? nil : element, depth: depth)
            case UInt8(ascii: "\""):
                let text = try string(keep: keepsValues)
                return keepsValues ? .string(text) : .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .integer(try number())
            default:
                for (literal, value) in [("true", JSONValue.bool(true)), ("false", .bool(false)), ("null", .null)]
                where bytes[index...].starts(with: literal.utf8) {
                    index += literal.utf8.count
                    return value
                }
                throw invalid()
            }
        }

        private mutating func object(_ keys: [String: JSONShape], unchecked: Bool, depth: Int) throws(Problem)
            -> JSONValue
        {
            index += 1
            skipSpace()
            var seen = Set<String>()
            var members: [JSONMember] = []
            if current == UInt8(ascii: "}") {
                index += 1
                return .object([])
            }
            while true {
                guard current == UInt8(ascii: "\"") else { throw invalid() }
                let key = try string(keep: true)
                steps.append(.key(key))
                guard seen.insert(key).inserted else { throw keyProblem("appears twice") }
                let inner = keys[key]
                if !unchecked, inner == nil { throw keyProblem("is not a field of this format") }
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw invalid() }
                index += 1
                skipSpace()
                let member = try value(unchecked ? nil : inner, depth: depth + 1)
                if keepsValues { members.append(JSONMember(key: key, value: member)) }
                steps.removeLast()
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                    continue
                }
                guard current == UInt8(ascii: "}") else { throw invalid() }
                index += 1
                return .object(members)
            }
        }

        private mutating func array(_ element: JSONShape?, depth: Int) throws(Problem) -> JSONValue {
            index += 1
            skipSpace()
            var elements: [JSONValue] = []
            if current == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            var position = 0
            while true {
                steps.append(.index(position))
                let item = try value(element, depth: depth + 1)
                if keepsValues { elements.append(item) }
                steps.removeLast()
                position += 1
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                    continue
                }
                guard current == UInt8(ascii: "]") else { throw invalid() }
                index += 1
                return .array(elements)
            }
        }

        /// A string's decoded text (escapes resolved, so `"m\u006fde"` is `mode`) when `keep`,
        /// else "" once it is checked: a value's text is not needed, only a key's.
        private mutating func string(keep: Bool) throws(Problem) -> String {
            index += 1
            let first = index
            // Most strings hold no escape: their bytes are their text. Most are ASCII too, and
            // need no UTF-8 check (`seen` gathers every byte's high bit).
            var seen: UInt8 = 0
            while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
                seen |= byte
                index += 1
            }
            if current == UInt8(ascii: "\"") {
                index += 1
                guard keep else { return "" }
                return seen < 0x80
                    ? String(decoding: bytes[first..<index - 1], as: UTF8.self) : try text(first..<index - 1)
            }
            var scalars = String.UnicodeScalarView()
            var start = first
            func flush(_ end: Int) throws(Problem) {
                guard keep else { return }
                scalars.append(contentsOf: try text(start..<end).unicodeScalars)
            }
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    try flush(index)
                    index += 1
                    return keep ? String(scalars) : ""
                case UInt8(ascii: "\\"):
                    try flush(index)
                    index += 1
                    guard let escaped = current else { throw invalid() }
                    index += 1
                    let scalar: Unicode.Scalar
                    switch escaped {
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code), bytes[index...].starts(with: "\\u".utf8) {
                            index += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw invalid() }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let decoded = Unicode.Scalar(code) else { throw invalid() }
                        scalar = decoded
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = Unicode.Scalar(escaped)
                    case UInt8(ascii: "b"): scalar = "\u{8}"
                    case UInt8(ascii: "f"): scalar = "\u{C}"
                    case UInt8(ascii: "n"): scalar = "\n"
                    case UInt8(ascii: "r"): scalar = "\r"
                    case UInt8(ascii: "t"): scalar = "\t"
                    default: throw invalid()
                    }
                    if keep { scalars.append(scalar) }
                    start = index
                case 0..<0x20:
                    throw invalid()
                default:
                    index += 1
                }
            }
            throw invalid()
        }

        /// The text of some of the bytes: checked as UTF-8 when values are built (`parse`), as
        /// `JSONDecoder` checks it; repaired otherwise (`check` reads only keys, and a decoder
        /// reads the bytes again afterwards).
        private func text(_ range: Range<Int>) throws(Problem) -> String {
            guard keepsValues else { return String(decoding: bytes[range], as: UTF8.self) }
            guard let text = String(validating: bytes[range], as: UTF8.self) else { throw invalid() }
            return text
        }

        private mutating func hex4() throws(Problem) -> UInt32 {
            guard index + 4 <= bytes.count else { throw invalid() }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw invalid()
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        /// An integer of at most ±2^53: larger ones would not survive a round trip through the
        /// doubles many JSON tools use, so two readers could disagree on its value.
        private mutating func number() throws(Problem) -> Int64 {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            let digits = bytes[digitsStart..<index]
            guard !digits.isEmpty, digits.count == 1 || digits.first != UInt8(ascii: "0") else { throw invalid() }
            if let byte = current, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                throw problem("must be a whole number")
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard digits.count <= 16, let value = Int64(text), abs(value) <= 1 << 53 else {
                throw problem("is beyond the range of exact whole numbers (2^53)")
            }
            return value
        }

        /// Where the value being read is: `secrets[3].mode` (empty at the top).
        private var path: String {
            var path = ""
            for step in steps {
                switch step {
                case .key(let key): path += path.isEmpty ? printable(key) : ".\(printable(key))"
                case .index(let position): path += "[\(position)]"
                }
            }
            return path
        }

        /// A key as it may appear in a message: letters, digits, `_` and `-`, others as `?`, at
        /// most 40 characters (a hostile file's key is never echoed with control characters).
        private func printable(_ key: String) -> String {
            let safe = key.unicodeScalars.prefix(40).map { scalar -> Character in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_"
                        || scalar == "-")
                    ? Character(scalar) : "?"
            }
            return String(safe) + (key.unicodeScalars.count > 40 ? "…" : "")
        }
    }
}
