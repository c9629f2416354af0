// The manifest decoder on any bytes: either a manifest or diagnostics, each placed in the
// file, none quoting an inline `value:`, the same answer twice, and the same with or without
// the fast path (`ManifestFastPath`).
@testable import SecretsCore
import StrictYAML

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    let first = decode(bytes)
    require(String(describing: first) == String(describing: decode(bytes)), "two decodes of one text disagree")
    require(verdict(bytes, fastPath: true) == verdict(bytes, fastPath: false), "the fast path and the decoder disagree")
    guard case .failure(let error) = first else { return 0 }
    require(!error.diagnostics.isEmpty, "a refusal without a diagnostic")
    var values: [String] = []
    var others: [String] = []
    if let root = StrictYAMLParser.parse(bytes).root { inlineValues(root, into: &values, others: &others) }
    // A value that is also part of a name, key or other scalar may be quoted as that.
    values.removeAll { value in others.contains { $0.contains(value) } }
    for diagnostic in error.diagnostics {
        if let location = diagnostic.location {
            require(location.file == "fuzz.yaml" && location.line >= 1 && location.column >= 1, "\(diagnostic)")
        }
        for value in values { require(!quotes(diagnostic.message, value), "a diagnostic quotes a value") }
    }
    return 0
}

/// The manifest's secrets as text (the manifest type is not Equatable), or its diagnostics.
private func decode(_ bytes: [UInt8]) -> Result<String, DiagnosticsError> {
    do throws(DiagnosticsError) {
        return .success(String(describing: try ManifestLoader.decode(bytes, path: "fuzz.yaml", now: 1_700_000_000)))
    } catch {
        return .failure(error)
    }
}

/// The decoder's secrets and diagnostics as text, read by the fast path where it can or by the
/// tree and the decoder only.
private func verdict(_ bytes: [UInt8], fastPath: Bool) -> String {
    let (secrets, diagnostics) = ManifestDecoder.decode(
        bytes, limits: ParseLimits(maxBytes: ManifestLoader.maxBytes), file: "fuzz.yaml", now: 1_700_000_000,
        fastPath: fastPath)
    return String(describing: secrets) + "\n" + diagnostics.map(\.description).joined(separator: "\n")
}

/// Every scalar written inline under a `value` key (alone or in a list), where a reference
/// (`{env: NAME}`, `{file: PATH}`, whose names messages may quote) belongs; every other scalar
/// and key in `others`.
private func inlineValues(_ node: Node, into values: inout [String], others: inout [String]) {
    switch node {
    case .mapping(let mapping):
        for entry in mapping.entries {
            others.append(entry.key.value)
            if entry.key.value == "value", isInline(entry.value) {
                scalars(entry.value, into: &values)
            } else {
                inlineValues(entry.value, into: &values, others: &others)
            }
        }
    case .sequence(let sequence): for item in sequence.items { inlineValues(item, into: &values, others: &others) }
    case .scalar(let scalar): others.append(scalar.value)
    case .invalid: break
    }
}

private func isInline(_ node: Node) -> Bool {
    if case .mapping = node { return false }
    return true
}

private func scalars(_ node: Node, into values: inout [String]) {
    switch node {
    case .scalar(let scalar): values.append(scalar.value)
    case .sequence(let sequence): for item in sequence.items { scalars(item, into: &values) }
    case .mapping, .invalid: break
    }
}
