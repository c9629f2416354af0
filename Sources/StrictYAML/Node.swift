/// A position in the YAML text: 1-based line and column (columns count characters).
public struct Mark: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Stored narrow: a tree holds one mark per node, and manifests are bounded far below 2^31 lines.
    private let storedLine: Int32
    private let storedColumn: Int32

    public var line: Int { Int(storedLine) }
    public var column: Int { Int(storedColumn) }

    public init(line: Int, column: Int) {
        storedLine = Int32(clamping: line)
        storedColumn = Int32(clamping: column)
    }

    public static func < (lhs: Mark, rhs: Mark) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// How a scalar was written; the schema uses it to tell `1` from `"1"`.
public enum ScalarStyle: Sendable {
    case plain, singleQuoted, doubleQuoted, literal, folded
}

/// A scalar exactly as written: its text is never converted behind the caller's back,
/// so `no` stays the string "no" and `0123` stays "0123". (Tags are refused by the parser,
/// so the style alone says how a scalar was meant.)
public struct Scalar: Sendable {
    public let value: String
    public let style: ScalarStyle
    public let mark: Mark

    public init(value: String, style: ScalarStyle, mark: Mark) {
        self.value = value
        self.style = style
        self.mark = mark
    }

    /// True for a plain `~`, `null` or empty scalar (YAML 1.2 core schema).
    public var isNull: Bool {
        guard style == .plain else { return false }
        switch value {
        case "", "~", "null", "Null", "NULL": return true
        default: return false
        }
    }
}

/// One `key: value` pair of a mapping; keys are always scalars in this strict layer.
public struct MappingEntry: Sendable {
    public let key: Scalar
    public let value: Node
}

/// A mapping with its entries in document order; keys are unique.
public struct MappingNode: Sendable {
    public let entries: [MappingEntry]
    public let mark: Mark
}

/// A sequence with its items in document order.
public struct SequenceNode: Sendable {
    public let items: [Node]
    public let mark: Mark
}

/// A node of the document tree.
public enum Node: Sendable {
    case scalar(Scalar)
    case mapping(MappingNode)
    case sequence(SequenceNode)
    /// A node the parser already reported as an error (an alias); consumers skip it quietly.
    case invalid(Mark)

    public var mark: Mark {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(let mapping): mapping.mark
        case .sequence(let sequence): sequence.mark
        case .invalid(let mark): mark
        }
    }
}
