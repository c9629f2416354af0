import Foundation
import StrictYAML
import Testing
import TestSupport

/// A YAML tree as JSON text, each scalar typed the way `ManifestDecoder` reads it: a plain null
/// spelling (`~`, `null`, nothing) is null, plain `true` or `false` (also `True`, `TRUE`…) a
/// boolean, plain unsigned digits an integer (`0123` is 123), and everything else a string:
/// quoted and block scalars, and `no`, `on`, `1.0`, `0x1`, `1e3` or `2027-06-30`, which YAML
/// 1.1 tools (PyYAML) would turn into booleans, numbers and dates.
///
/// Where the decoder reads a scalar as text (a name, a path), the schema accepts numbers and
/// booleans too, so typing digits as numbers changes no verdict.
enum YAMLAsJSON {
    /// Nil when the tree holds a node the parser refused (an alias).
    static func text(of node: Node?) -> String? {
        guard let node else { return "null" }
        switch node {
        case .scalar(let scalar):
            return text(of: scalar)
        case .sequence(let sequence):
            let items = sequence.items.map { text(of: $0) }
            guard items.allSatisfy({ $0 != nil }) else { return nil }
            return "[" + items.compactMap { $0 }.joined(separator: ",") + "]"
        case .mapping(let mapping):
            let entries = mapping.entries.map { entry in
                text(of: entry.value).map { quoted(entry.key.value) + ":" + $0 }
            }
            guard entries.allSatisfy({ $0 != nil }) else { return nil }
            return "{" + entries.compactMap { $0 }.joined(separator: ",") + "}"
        case .invalid:
            return nil
        }
    }

    private static func text(of scalar: Scalar) -> String {
        guard scalar.style == .plain else { return quoted(scalar.value) }
        if scalar.isNull { return "null" }
        switch scalar.value {
        case "true", "True", "TRUE": return "true"
        case "false", "False", "FALSE": return "false"
        default: break
        }
        guard !scalar.value.isEmpty, scalar.value.utf8.allSatisfy({ (48...57).contains($0) }) else {
            return quoted(scalar.value)
        }
        let digits = scalar.value.drop(while: { $0 == "0" })
        return digits.isEmpty ? "0" : String(digits)
    }

    private static func quoted(_ text: String) -> String {
        var literal = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": literal += "\\\""
            case "\\": literal += "\\\\"
            case "\u{0}"..."\u{1F}":
                literal += "\\u00" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
            default: literal.unicodeScalars.append(scalar)
            }
        }
        return literal + "\""
    }
}

/// Python's `jsonschema`, formats asserted: an implementation of JSON Schema independent of
/// ours, run once for many documents. Each document is checked as draft 2020-12 (what the
/// schema declares) and as draft 7 (what yaml-language-server implements).
enum IndependentValidator {
    struct Errors: Decodable {
        /// Where and which keyword, never the offending value.
        let draft2020: [String]
        let draft7: [String]
    }

    private static let script = """
        import json, sys
        try:
            from jsonschema import Draft7Validator, Draft202012Validator
        except ImportError:
            sys.exit("no jsonschema: run .ci/setup-python")
        if "date-time" not in Draft202012Validator.FORMAT_CHECKER.checkers:
            sys.exit("jsonschema checks format date-time only with rfc3339-validator: run .ci/setup-python")
        request = json.load(sys.stdin)
        Draft202012Validator.check_schema(request["schema"])
        validators = {
            "draft2020": Draft202012Validator(request["schema"], format_checker=Draft202012Validator.FORMAT_CHECKER),
            "draft7": Draft7Validator(request["schema"], format_checker=Draft7Validator.FORMAT_CHECKER),
        }
        def errors(validator, document):
            return sorted(f"{e.json_path}: {e.validator}" for e in validator.iter_errors(document))
        json.dump([{name: errors(v, d) for name, v in validators.items()} for d in request["documents"]], sys.stdout)
        """

    /// Each document's errors, in document order, after checking `schema` itself against the
    /// draft 2020-12 meta-schema.
    static func errors(schema: String, documents: [String]) throws -> [Errors] {
        let folder = try TemporaryFolder()
        let request = try folder.write(
            "request.json", "{\"schema\": \(schema), \"documents\": [\(documents.joined(separator: ",\n"))]}")
        let process = Process()
        // The checkers' virtual environment (.ci/setup-python), else whatever python3 is on PATH.
        let repository = #filePath.components(separatedBy: "/Tests/")[0]
        let venv = repository + "/.build/ci-python/bin/python"
        if FileManager.default.isExecutableFile(atPath: venv) {
            process.executableURL = URL(fileURLWithPath: venv)
            process.arguments = ["-c", script]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script]
        }
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: request))
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = BinaryRunner.Running(process: process, out: out, err: err).wait()
        try #require(
            output.status == 0,
            "python with jsonschema and rfc3339-validator is needed (.ci/setup-python builds .build/ci-python): \(output.stderr)"
        )
        return try JSONDecoder().decode([Errors].self, from: Data(output.stdout.utf8))
    }
}
