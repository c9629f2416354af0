// StrictYAMLParser on any bytes: no crash, bounded depth, every problem placed, no message
// quoting a scalar, and the same answer twice.
import StrictYAML

private let limits = ParseLimits(maxBytes: 1 << 20, maxDepth: 64)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    let document = StrictYAMLParser.parse(bytes, limits: limits)
    var scalars: [String] = []
    if let root = document.root { walk(root, depth: 0, into: &scalars) }
    for problem in document.problems {
        require(problem.mark.line >= 1 && problem.mark.column >= 1, "problem without a place: \(problem)")
        for scalar in scalars { require(!quotes(problem.message, scalar), "a message quotes a scalar") }
    }
    let again = StrictYAMLParser.parse(bytes, limits: limits)
    require(again.problems == document.problems, "two parses of one text disagree")
    return 0
}

/// Collects every scalar, checking depth, marks and that no mapping holds a key twice.
private func walk(_ node: Node, depth: Int, into scalars: inout [String]) {
    require(depth <= limits.maxDepth, "a tree deeper than the limit")
    require(node.mark.line >= 1 && node.mark.column >= 1, "a node without a place")
    switch node {
    case .scalar(let scalar): scalars.append(scalar.value)
    case .sequence(let sequence): for item in sequence.items { walk(item, depth: depth + 1, into: &scalars) }
    case .mapping(let mapping):
        var keys = Set<[UInt8]>()
        for entry in mapping.entries {
            require(keys.insert(Array(entry.key.value.utf8)).inserted, "a mapping holds a key twice")
            scalars.append(entry.key.value)
            walk(entry.value, depth: depth + 1, into: &scalars)
        }
    case .invalid: break
    }
}
