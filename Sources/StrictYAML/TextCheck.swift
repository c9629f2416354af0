/// Checks on the raw text before libyaml reads it, and positions computed from bytes.
enum TextCheck {
    /// The first character that libyaml would read as a line break although editors do not
    /// show one (so every line number after it would be off), or a UTF-16 byte order mark.
    static func firstProblem(in text: UnsafeBufferPointer<UInt8>) -> YAMLProblem? {
        if text.starts(with: [0xFF, 0xFE]) || text.starts(with: [0xFE, 0xFF]) {
            return YAMLProblem("the file is UTF-16 text; save it as UTF-8", at: Mark(line: 1, column: 1))
        }
        guard let base = UnsafeRawPointer(text.baseAddress) else { return nil }
        var index = 0
        let count = text.count
        while index < count {
            // Most of a manifest is ASCII without CR: skip it a word at a time.
            if index + 8 <= count, Self.isPlainASCII(base + index) {
                index += 8
                continue
            }
            let byte = text[index]
            if byte < 0x0D || (byte > 0x0D && byte < 0xC2) || (byte > 0xC2 && byte != 0xE2) {
                index += 1
                continue
            }
            let name: String?
            if byte == 0x0D {
                name = index + 1 < count && text[index + 1] == 0x0A ? nil : "a carriage return without a line feed"
            } else if byte == 0xC2 {
                name = index + 1 < count && text[index + 1] == 0x85 ? "U+0085 (next line)" : nil
            } else if index + 2 < count, text[index + 1] == 0x80, text[index + 2] == 0xA8 || text[index + 2] == 0xA9 {
                name = text[index + 2] == 0xA8 ? "U+2028 (line separator)" : "U+2029 (paragraph separator)"
            } else {
                name = nil
            }
            if let name {
                return YAMLProblem(
                    "\(name) is a line break to YAML but not to most editors; use plain LF or CRLF line endings",
                    at: mark(ofByteOffset: index, in: text))
            }
            index += 1
        }
        return nil
    }

    /// Whether the 8 bytes at `bytes` are all ASCII and none is a CR: none can start a problem.
    @inline(__always)
    private static func isPlainASCII(_ bytes: UnsafeRawPointer) -> Bool {
        let word = bytes.loadUnaligned(as: UInt64.self)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let crs = word ^ (ones &* 0x0D)
        // A byte of `crs` is zero exactly where `word` holds a CR (the classic zero-byte test).
        let hasCR = (crs &- ones) & ~crs & highs
        return (word & highs) | hasCR == 0
    }

    /// The line and column of a byte offset (lines end at LF; columns count characters).
    static func mark(ofByteOffset offset: Int, in text: UnsafeBufferPointer<UInt8>) -> Mark {
        var line = 1
        var column = 1
        for byte in text.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return Mark(line: line, column: column)
    }

    /// The first byte of the character at `mark`, if there is one.
    static func byte(at mark: Mark, in text: UnsafeBufferPointer<UInt8>) -> UInt8? {
        var index = 0
        var line = 1
        while line < mark.line, index < text.count {
            if text[index] == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }
        var column = 0
        while index < text.count, text[index] != UInt8(ascii: "\n") {
            if text[index] & 0xC0 != 0x80 {
                column += 1
                if column == mark.column { return text[index] }
            }
            index += 1
        }
        return nil
    }

    /// `U+0007`
    static func codePoint(_ value: Int32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
