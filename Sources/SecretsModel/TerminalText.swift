/// Text from a file, a database or a server made safe to print: control characters (which could
/// move the cursor, colour or clear the screen, or fake a line), bidirectional overrides and
/// other invisible format characters (which could make text read otherwise than it is), and
/// line or paragraph separators, all shown as `\u{…}` escapes.
public enum TerminalText {
    public static func safe(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `safe`, but line feeds kept: for our own multi-line messages, whose parts are escaped
    /// where they come from outside.
    public static func safeKeepingLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { safe(String($0)) }.joined(separator: "\n")
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) { return true }
        guard scalar.value > 0x7F else { return false }
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
