import StrictYAML

/// Reads typed values out of YAML nodes, recording a diagnostic for every mismatch so that
/// a whole manifest is checked in one pass. `.invalid` nodes were reported by the YAML layer
/// already and read as nil without a second message.
struct SchemaReader {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    init(file: String) {
        self.file = file
    }

    mutating func report(_ message: String, at mark: Mark) {
        diagnostics.append(Diagnostic(message, at: location(mark)))
    }

    mutating func report(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    func location(_ mark: Mark) -> SourceLocation {
        SourceLocation(file: file, mark: mark)
    }

    /// The mapping's entries, after reporting every key not in `allowed` (with a suggestion).
    ///
    /// A key is quoted in the message only when `quotingKeys` is true and it does not look
    /// like a credential, so a value typed where a key belongs is never echoed.
    mutating func fields(
        of mapping: MappingNode, allowed: [String], in context: @autoclosure () -> String, quotingKeys: Bool = true
    ) -> Fields {
        for entry in mapping.entries where !allowed.contains(entry.key.value) {
            let key = entry.key.value
            let expected = " (expected one of: \(allowed.joined(separator: ", ")))"
            guard quotingKeys, Self.looksLikeFieldName(key), !CredentialShape.matches(key) else {
                report(
                    "unknown key \(context())\(expected); the key is not shown in case it is a value",
                    at: entry.key.mark)
                continue
            }
            let hint = Suggestion.closest(to: key, among: allowed).map { " (did you mean '\($0)'?)" } ?? expected
            report("unknown key '\(key)' \(context())\(hint)", at: entry.key.mark)
        }
        return Fields(entries: mapping.entries)
    }

    /// Whether an unknown key may be quoted back: it looks like a mistyped field name (1 to 32
    /// lowercase letters, digits, `_` and `-`). Anything else, such as a value pasted where a key
    /// goes, is named by its position alone.
    /// `what` followed by the word quoted, when the word may be quoted back (as a key may);
    /// `what` alone otherwise, so that a value typed where a keyword belongs is never echoed.
    static func naming(_ what: String, _ word: String) -> String {
        looksLikeFieldName(word) && !CredentialShape.matches(word) ? "\(what) '\(word)'" : what
    }

    static func looksLikeFieldName(_ key: String) -> Bool {
        (1...32).contains(key.utf8.count)
            && key.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }
    }

    mutating func mapping(_ node: Node, _ what: String) -> MappingNode? {
        switch node {
        case .mapping(let mapping): return mapping
        case .invalid: return nil
        default:
            report("\(what) must be a mapping of 'key: value' lines, not \(kind(of: node))", at: node.mark)
            return nil
        }
    }

    mutating func sequence(_ node: Node, _ what: String) -> SequenceNode? {
        switch node {
        case .sequence(let sequence): return sequence
        case .invalid: return nil
        default:
            report("\(what) must be a list (lines starting with '- '), not \(kind(of: node))", at: node.mark)
            return nil
        }
    }

    /// A scalar read as text, whatever its style: `no` is "no" and `0123` is "0123".
    mutating func text(_ node: Node, _ what: String) -> Scalar? {
        switch node {
        case .scalar(let scalar) where scalar.isNull:
            report("\(what) needs a value", at: node.mark)
            return nil
        case .scalar(let scalar): return scalar
        case .invalid: return nil
        default:
            report("\(what) must be text, not \(kind(of: node))", at: node.mark)
            return nil
        }
    }

    /// `true` or `false` (YAML 1.2 core schema spellings only; `yes` and `on` are refused).
    mutating func boolean(_ node: Node, _ what: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.value {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        if case .invalid = node { return nil }
        report("\(what) must be true or false", at: node.mark)
        return nil
    }

    private func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.isNull ? "empty" : "text"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .invalid: "invalid"
        }
    }
}

/// The entries of one mapping, looked up by key. Mappings here are small, so a scan is fastest.
struct Fields {
    let entries: [MappingEntry]

    subscript(key: String) -> Node? {
        for entry in entries where entry.key.value == key { return entry.value }
        return nil
    }

    func entry(_ key: String) -> MappingEntry? {
        entries.first(where: { $0.key.value == key })
    }
}
