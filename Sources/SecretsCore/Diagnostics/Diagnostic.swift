import SecretsModel
import StrictYAML

/// Where in which file something was found. 1-based line and column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public init(file: String, mark: Mark) {
        self.init(file: file, line: mark.line, column: mark.column)
    }

    /// The position alone, `line:col`, for pointing at another place in the same file.
    public var position: String { "\(line):\(column)" }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem a user can act on, rendered like a compiler's: `file:line:col: error: message`.
///
/// A message never quotes a secret value. It is one line: line breaks and other control
/// characters in it, which only what it quotes can bring (a `file:` path in the manifest, a
/// path on the command line), are shown escaped, so that no input can add a line of its own.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public let location: SourceLocation?

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        TerminalText.safe(location.map { "\($0): error: \(message)" } ?? "error: \(message)")
    }
}

/// Every problem found in one pass, so that one run shows them all.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    /// The file the diagnostics are about, for the closing count.
    public let file: String

    /// Keeps the diagnostics in file order (by line, then column; unplaced ones first).
    public init(_ diagnostics: [Diagnostic], in file: String) {
        self.diagnostics = diagnostics.enumerated().sorted { first, second in
            switch (first.element.location, second.element.location) {
            case (nil, .some): return true
            case (.some, nil): return false
            case (let a?, let b?) where (a.line, a.column) != (b.line, b.column):
                return (a.line, a.column) < (b.line, b.column)
            default: return first.offset < second.offset
            }
        }.map(\.element)
        self.file = file
    }

    /// At most this many are printed; the rest are counted.
    public static let shownLimit = 50

    /// Each diagnostic on its own line (the first 50), then `N errors in FILE`.
    public var description: String {
        var lines = diagnostics.prefix(Self.shownLimit).map(\.description)
        if diagnostics.count > Self.shownLimit {
            lines.append("… and \(diagnostics.count - Self.shownLimit) more")
        }
        let count = diagnostics.count == 1 ? "1 error" : "\(diagnostics.count.grouped) errors"
        return (lines + [TerminalText.safe("\(count) in \(file)")]).joined(separator: "\n")
    }
}
