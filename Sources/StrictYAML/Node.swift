/// A position in the YAML text: 1-based line and column (columns count characters).
public struct Mark: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
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
/// so `no` stays the string "no" and `0123` stays "0123".
public struct Scalar: Sendable {
    public let value: String
    public let style: ScalarStyle
    /// The resolved tag when one was written (`!!str` is `tag:yaml.org,2002:str`), else nil.
    public let tag: String?
    public let mark: Mark

    public init(value: String, style: ScalarStyle, tag: String? = nil, mark: Mark) {
        self.value = value
        self.style = style
        self.tag = tag
        self.mark = mark
    }

    /// True for a plain, untagged `~`, `null` or empty scalar (YAML 1.2 core schema).
    public var isNull: Bool {
        guard style == .plain, tag == nil || tag == Tag.null else { return false }
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
public indirect enum Node: Sendable {
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

/// The standard tags of the YAML core schema, the only ones the strict layer accepts.
public enum Tag {
    static let prefix = "tag:yaml.org,2002:"
    public static let str = prefix + "str"
    public static let int = prefix + "int"
    public static let null = prefix + "null"
    static let allowed: Set<String> = Set(
        ["str", "int", "float", "bool", "null", "timestamp", "map", "seq"].map { prefix + $0 }
    )
}
