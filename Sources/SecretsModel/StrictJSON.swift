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
        var scanner = Scanner(bytes: bytes)
        try scanner.document(shape)
    }

    /// How `string(in:at:_:)` treats a string's text.
    public enum TextReading: Sendable {
        /// Checked, not kept: the result is "".
        case skipped
        /// Bytes that are not UTF-8 replaced, as `String(decoding:as:)` does.
        case repaired
        /// Bytes that are not UTF-8 refused, as `JSONDecoder` refuses them.
        case validated
    }

    /// The string whose opening quote is at `index`, escapes resolved (`"m\u006fde"` is `mode`),
    /// with `index` moved past its closing quote; nil when it is not a JSON string.
    public static func string(in bytes: [UInt8], at index: inout Int, _ reading: TextReading) -> String? {
        let keep = reading != .skipped
        func text(_ range: Range<Int>) -> String? {
            reading == .validated
                ? String(validating: bytes[range], as: UTF8.self) : String(decoding: bytes[range], as: UTF8.self)
        }
        index += 1
        let first = index
        // Most strings hold no escape: their bytes are their text. Most are ASCII too, and
        // need no UTF-8 check (`seen` gathers every byte's high bit).
        var seen: UInt8 = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"),
            bytes[index] >= 0x20
        {
            seen |= bytes[index]
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            guard keep else { return "" }
            return seen < 0x80 ? String(decoding: bytes[first..<index - 1], as: UTF8.self) : text(first..<index - 1)
        }
        var scalars = String.UnicodeScalarView()
        var start = first
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                if keep {
                    guard let segment = text(start..<index) else { return nil }
                    scalars.append(contentsOf: segment.unicodeScalars)
                }
                index += 1
                if bytes[index - 1] == UInt8(ascii: "\"") { return keep ? String(scalars) : "" }
                guard let scalar = unescape(bytes, at: &index) else { return nil }
                if keep { scalars.append(scalar) }
                start = index
            case 0..<0x20:
                return nil
            default:
                index += 1
            }
        }
        return nil
    }

    /// The character an escape stands for, `index` being just past its backslash and moved past
    /// the escape (`\n`, `\u00e9`, a surrogate pair `\ud83d\ude00`); nil when it is not one.
    private static func unescape(_ bytes: [UInt8], at index: inout Int) -> Unicode.Scalar? {
        func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }
        guard index < bytes.count else { return nil }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "u"):
            guard var code = hex4() else { return nil }
            if (0xD800..<0xDC00).contains(code), bytes[index...].starts(with: "\\u".utf8) {
                index += 2
                guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            return Unicode.Scalar(code)
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(escaped)
        case UInt8(ascii: "b"): return "\u{8}"
        case UInt8(ascii: "f"): return "\u{C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        default: return nil
        }
    }

    /// Why `integer(in:at:)` refused a number.
    public enum NumberProblem: Error, Sendable {
        /// Not a JSON number at all (`-`, `01`).
        case invalid
        /// A fraction or an exponent: no field of ours has one.
        case notWhole
        case beyondRange
    }

    /// The integer at `index`, with `index` moved past it: at most ±2^53, since larger ones
    /// would not survive a round trip through the doubles many JSON tools use, so two readers
    /// could disagree on its value.
    public static func integer(in bytes: [UInt8], at index: inout Int) throws(NumberProblem) -> Int64 {
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        var magnitude: Int64 = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            // Wrapping past 16 digits is harmless: those are refused below.
            magnitude = magnitude &* 10 &+ Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let count = index - digitsStart
        guard count > 0, count == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { throw .invalid }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            throw .notWhole
        }
        guard count <= 16, magnitude <= 1 << 53 else { throw .beyondRange }
        return negative ? -magnitude : magnitude
    }

    /// One step of the way to a value: an object's key or a list's position.
    private enum Step {
        case key(String)
        case index(Int)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        /// The way to the value being read; spelt out only for a message.
        private var steps: [Step] = []

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func document(_ shape: JSONShape) throws(Problem) {
            skipSpace()
            try value(shape, depth: 0)
            skipSpace()
            guard atEnd else { throw invalid() }
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

        mutating func value(_ shape: JSONShape?, depth: Int) throws(Problem) {
            guard depth < 64 else { throw problem("is nested too deeply") }
            guard let byte = current else { throw invalid() }
            var open = shape
            if case .any = shape { open = nil }
            switch byte {
            case UInt8(ascii: "{"):
                guard case .object(let keys) = open ?? .object([:]) else { throw problem("must not be an object") }
                try object(keys, unchecked: open == nil, depth: depth)
            case UInt8(ascii: "["):
                guard case .array(let element) = open ?? .array(.scalar) else { throw problem("must not be a list") }
                try array(open == nil ? nil : element, depth: depth)
            case UInt8(ascii: "\""):
                _ = try string(keep: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
            default:
                guard let literal = ["true", "false", "null"].first(where: { bytes[index...].starts(with: $0.utf8) })
                else { throw invalid() }
                index += literal.utf8.count
            }
        }

        private mutating func object(_ keys: [String: JSONShape], unchecked: Bool, depth: Int) throws(Problem) {
            index += 1
            skipSpace()
            var seen = Set<String>()
            if current == UInt8(ascii: "}") {
                index += 1
                return
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
                try value(unchecked ? nil : inner, depth: depth + 1)
                steps.removeLast()
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                    continue
                }
                guard current == UInt8(ascii: "}") else { throw invalid() }
                index += 1
                return
            }
        }

        private mutating func array(_ element: JSONShape?, depth: Int) throws(Problem) {
            index += 1
            skipSpace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            var position = 0
            while true {
                steps.append(.index(position))
                try value(element, depth: depth + 1)
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
                return
            }
        }

        /// A key's decoded text (escapes resolved, so `"m\u006fde"` is `mode`, bytes that are not
        /// UTF-8 repaired: a decoder reads the bytes again afterwards), or a value's string
        /// checked without keeping it ("").
        private mutating func string(keep: Bool) throws(Problem) -> String {
            guard let text = StrictJSON.string(in: bytes, at: &index, keep ? .repaired : .skipped) else {
                throw invalid()
            }
            return text
        }

        /// An integer of at most ±2^53 (see `StrictJSON.integer`).
        private mutating func number() throws(Problem) {
            do {
                _ = try StrictJSON.integer(in: bytes, at: &index)
            } catch {
                switch error {
                case .invalid: throw invalid()
                case .notWhole: throw problem("must be a whole number")
                case .beyondRange: throw problem("is beyond the range of exact whole numbers (2^53)")
                }
            }
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
