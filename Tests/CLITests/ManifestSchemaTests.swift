import Foundation
import SecretsModel
import StrictYAML
import Testing
import TestSupport

@testable import SecretsCore

/// `stripe-secrets schema`: the copy in docs/, and an independent validator (Python's
/// jsonschema) that accepts every manifest the tool accepts and refuses every manifest the
/// tool refuses for a reason a schema can see.
@Suite struct ManifestSchemaTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let invalidFixtures = repository.appendingPathComponent("Tests/SecretsCoreTests/Fixtures/invalid")
    /// 2027-01-15T08:00:00Z: a fixed "now" for the expiry checks.
    static let now: Int64 = 1_800_000_000

    @Test func docsCopyIsTheCommandsOutput() throws {
        let output = try BinaryRunner(directory: Self.repository.path).run("schema")
        #expect(output.status == 0)
        #expect(output.stderr == "")
        #expect(output.stdout == ManifestSchema.text)
        #expect(output.stdout.hasSuffix("}\n"))
        let copy = try [UInt8](Data(contentsOf: Self.repository.appendingPathComponent("docs/manifest.schema.json")))
        #expect(
            output.stdout.utf8.elementsEqual(copy),
            "docs/manifest.schema.json is stale; regenerate it: stripe-secrets schema > docs/manifest.schema.json")
    }

    @Test func everyFieldIsDescribedAndEveryObjectClosed() throws {
        let schema = try Self.schema()
        var problems: [String] = []
        Self.inspect(schema, at: "", described: true, problems: &problems)
        #expect(problems == [])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
    }

    /// Every property, definition and alternative needs a description; every object schema
    /// refuses keys it does not list.
    private static func inspect(_ node: Any, at path: String, described: Bool, problems: inout [String]) {
        guard let schema = node as? [String: Any] else {
            problems.append("\(path) is not a schema")
            return
        }
        if described, !(schema["description"] is String) { problems.append("\(path) has no description") }
        if schema["type"] as? String == "object" || schema["properties"] != nil,
            schema["additionalProperties"] as? Bool != false
        {
            problems.append("\(path) allows unknown keys")
        }
        for keyword in ["properties", "$defs"] {
            for (key, child) in schema[keyword] as? [String: Any] ?? [:] {
                inspect(child, at: "\(path)/\(keyword)/\(key)", described: true, problems: &problems)
            }
        }
        for keyword in ["oneOf", "anyOf"] {
            for (index, child) in (schema[keyword] as? [Any] ?? []).enumerated() {
                inspect(child, at: "\(path)/\(keyword)/\(index)", described: true, problems: &problems)
            }
        }
        for keyword in ["items", "not"] where schema[keyword] != nil {
            inspect(schema[keyword] as Any, at: "\(path)/\(keyword)", described: false, problems: &problems)
        }
    }

    /// The name pattern's character class holds exactly what `SecretAddress.nameProblem` calls
    /// invisible, scalar by scalar.
    @Test func nameCharactersAreTheDecoders() throws {
        let definitions = try #require(try Self.schema()["$defs"] as? [String: Any])
        let secret = try #require(definitions["secret"] as? [String: Any])
        let properties = try #require(secret["properties"] as? [String: Any])
        let name = try #require(properties["name"] as? [String: Any])
        let pattern = try #require(name["pattern"] as? String)
        try #require(pattern.hasPrefix("^[^") && pattern.hasSuffix("]*$"), "\(pattern.debugDescription)")
        let members = Array(pattern.unicodeScalars.dropFirst(3).dropLast(3))
        var refused: [ClosedRange<UInt32>] = []
        var index = 0
        while index < members.count {
            let ranged = index + 2 < members.count && members[index + 1] == "-"
            refused.append(members[index].value...members[ranged ? index + 2 : index].value)
            index += ranged ? 3 : 1
        }
        // One call per scalar the schema refuses; the others go in names of 5,000 (the most
        // `nameProblem` reads for invisible characters), searched one by one only on failure.
        var disagreements: [String] = []
        var visible: [Unicode.Scalar] = []
        func checkVisible() {
            if !visible.isEmpty, SecretAddress.nameProblem(String(String.UnicodeScalarView(visible))) != nil {
                disagreements += visible.filter { SecretAddress.nameProblem(String($0)) != nil }.map(\.hex)
            }
            visible.removeAll(keepingCapacity: true)
        }
        var next = refused.sorted { $0.lowerBound < $1.lowerBound }.makeIterator()
        var range = next.next()
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            while let current = range, current.upperBound < value { range = next.next() }
            if range?.contains(value) == true {
                if SecretAddress.nameProblem(String(scalar)) != .invisibleCharacter { disagreements.append(scalar.hex) }
            } else {
                visible.append(scalar)
                if visible.count == SecretAddress.maxNameLength { checkVisible() }
            }
        }
        checkVisible()
        #expect(disagreements.isEmpty, "the schema and the decoder disagree on \(disagreements.prefix(20))")
    }

    /// Each invalid fixture is a deliberate choice: refused by the schema (the tool refuses it
    /// for its structure), accepted by the schema (the tool refuses it for a reason no schema
    /// can see: duplicates, the cap of 10 per scope, the clock, the values), or unreadable (the
    /// YAML itself is refused, so there is no document to check).
    static let refusedFixtures = [
        "account-and-accounts", "account-bad-id", "accounts-duplicate", "accounts-empty", "accounts-not-a-list",
        "comments-only", "defaults-bad-account", "defaults-is-a-list", "defaults-unknown-key",
        "empty-document-marker", "empty-value", "env-empty-name", "env-invalid-name", "env-looks-like-a-secret",
        "env-names-the-tools-own-credential", "expires-after-year-9999", "expires-date-only", "expires-fraction",
        "expires-impossible-date",
        "expires-month-13", "expires-milliseconds",
        "expires-no-offset", "expires-quoted-unix", "file-empty-path", "file-looks-like-a-secret", "file-nul-in-path",
        "inline-value", "inline-value-block-scalar", "many-problems-in-one-run", "missing-name", "missing-secrets",
        "missing-value", "missing-version", "name-control-character", "name-empty", "name-is-a-list",
        "name-too-long", "name-zero-width-space", "root-is-a-list", "root-is-text", "scope-account-with-user",
        "scope-bad-user-id", "scope-missing-type", "scope-short-user", "scope-unknown-type", "scope-unknown-word",
        "scope-user-without-user", "secret-is-empty", "secret-is-text", "secrets-is-a-mapping",
        "structure-and-value-problems-together", "trim-newline-not-bool", "trim-newline-with-env", "protect-not-bool",
        "unknown-key-not-a-field-name",
        "unknown-key-did-you-mean", "unknown-key-in-value", "unknown-key-looks-like-a-secret",
        "unknown-key-no-suggestion", "unknown-top-level-key", "unsupported-version", "value-both-sources",
        "value-is-a-list", "value-no-source", "value-pasted-as-block-key", "value-pasted-as-key", "version-as-text",
    ]
    static let acceptedFixtures = [
        "duplicate-across-fan-out", "duplicate-after-scope-is-full", "duplicate-secret",
        "duplicate-secret-long-scope-form", "duplicate-with-default-account", "env-empty", "env-not-set",
        "env-too-long", "expires-in-past", "expires-unix-in-past", "file-binary", "file-is-directory",
        "file-missing", "file-only-newline", "file-too-long", "too-many-in-scope", "too-many-in-user-scope",
        "value-problems-reported-once-per-source",
    ]
    static let unreadableFixtures = [
        "yaml-anchor-and-alias", "yaml-bad-indentation", "yaml-collection-as-key", "yaml-control-character",
        "yaml-core-tag", "yaml-custom-tag", "yaml-duplicate-key", "yaml-duplicate-top-level-key",
        "yaml-line-separator", "yaml-lone-carriage-return", "yaml-next-line-character", "yaml-tab-indentation",
        "yaml-two-documents", "yaml-unclosed-flow-mapping", "yaml-unclosed-quote", "yaml-utf16",
    ]

    @Test func everyInvalidFixtureIsClassifiedOnce() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.invalidFixtures.path)
        let fixtures = Set(files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) })
        let listed = Self.refusedFixtures + Self.acceptedFixtures + Self.unreadableFixtures
        #expect(
            fixtures.subtracting(listed).sorted() == [],
            "a new invalid fixture: add it to refusedFixtures, acceptedFixtures or unreadableFixtures")
        #expect(Set(listed).subtracting(fixtures).sorted() == [], "listed but not in Fixtures/invalid")
        #expect(listed.count == Set(listed).count, "listed twice")
        for name in Self.unreadableFixtures {
            let document = try Self.parse(Self.invalidFixtures.appendingPathComponent("\(name).yaml"))
            #expect(!document.problems.isEmpty, "\(name) is listed as unreadable but its YAML is fine")
        }
    }

    @Test func independentValidatorAgreesWithTheTool() throws {
        var documents = try Self.corpus()
        for (names, valid) in [(Self.refusedFixtures, false), (Self.acceptedFixtures, true)] {
            for name in names {
                let yaml = try [UInt8](Data(contentsOf: Self.invalidFixtures.appendingPathComponent("\(name).yaml")))
                documents.append(Document(label: "invalid/\(name)", yaml: yaml, valid: valid))
            }
        }
        #expect(documents.count > 150)

        var json: [String] = []
        for document in documents {
            let parsed = StrictYAMLParser.parse(document.yaml)
            try #require(parsed.problems.isEmpty, "\(document.label) is not readable YAML")
            json.append(try #require(YAMLAsJSON.text(of: parsed.root)))
        }
        let errors = try IndependentValidator.errors(schema: ManifestSchema.text, documents: json)
        try #require(errors.count == documents.count)
        for (document, errors) in zip(documents, errors) {
            let verdict = document.valid ? "accept" : "refuse"
            #expect(
                errors.draft2020.isEmpty == document.valid, "should \(verdict) \(document.label): \(errors.draft2020)")
            #expect(errors.draft7.isEmpty == document.valid, "as draft 7, should \(verdict) \(document.label)")
        }
        let valid = errors.filter(\.draft2020.isEmpty).count
        print("note: manifest schema: \(valid) documents valid, \(documents.count - valid) refused")
    }

    /// The tool's own verdict on the documents the schema is held to, besides the invalid
    /// fixtures (whose verdicts `InvalidManifestTests` checks).
    @Test func theToolGivesTheVerdictsTheSchemaIsHeldTo() throws {
        for document in try Self.corpus() {
            let accepted = (try? ManifestLoader.decode(document.yaml, path: "case.yaml", now: Self.now)) != nil
            #expect(accepted == document.valid, "stripe-secrets \(accepted ? "accepts" : "refuses") \(document.label)")
        }
    }

    struct Document {
        let label: String
        let yaml: [UInt8]
        /// Whether the tool, and so the schema, accepts it.
        let valid: Bool
    }

    /// The valid fixtures, every example's manifest, every manifest in the documentation, and
    /// the cases made here.
    private static func corpus() throws -> [Document] {
        var documents: [Document] = []
        for file in try validManifests() {
            let label = file.path.replacingOccurrences(of: repository.path + "/", with: "")
            documents.append(Document(label: label, yaml: try [UInt8](Data(contentsOf: file)), valid: true))
        }
        for (label, yaml) in try documentationManifests() {
            documents.append(Document(label: label, yaml: Array(yaml.utf8), valid: true))
        }
        for (label, yaml, valid) in cases {
            documents.append(Document(label: "case \(label)", yaml: Array(yaml.utf8), valid: valid))
        }
        return documents
    }

    private static func schema() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(ManifestSchema.text.utf8)) as? [String: Any])
    }

    private static func parse(_ file: URL) throws -> ParsedDocument {
        StrictYAMLParser.parse(try [UInt8](Data(contentsOf: file)))
    }

    /// The valid fixtures and every example's manifest.
    private static func validManifests() throws -> [URL] {
        let manager = FileManager.default
        let valid = repository.appendingPathComponent("Tests/SecretsCoreTests/Fixtures/valid")
        let fixtures = try manager.contentsOfDirectory(atPath: valid.path).filter { $0.hasSuffix(".yaml") }
        let examples = repository.appendingPathComponent("examples")
        let manifests = try manager.contentsOfDirectory(atPath: examples.path).map {
            examples.appendingPathComponent($0).appendingPathComponent("secrets.yaml")
        }
        let found =
            fixtures.map { valid.appendingPathComponent($0) } + manifests.filter { manager.fileExists(atPath: $0.path) }
        #expect(found.count >= 3)
        return found
    }

    /// Every ```yaml block of the README and docs/: each is a whole manifest (fragments are
    /// fenced as text).
    private static func documentationManifests() throws -> [(label: String, yaml: String)] {
        let docs = repository.appendingPathComponent("docs")
        let pages =
            ["README.md"]
            + (try FileManager.default.contentsOfDirectory(atPath: docs.path)).filter { $0.hasSuffix(".md") }.sorted()
            .map {
                "docs/\($0)"
            }
        var blocks: [(label: String, yaml: String)] = []
        for page in pages {
            let text = try String(contentsOf: repository.appendingPathComponent(page), encoding: .utf8)
            var block: [Substring]?
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "```yaml" {
                    block = []
                } else if line == "```", let lines = block {
                    blocks.append(("\(page) block \(blocks.count + 1)", lines.joined(separator: "\n") + "\n"))
                    block = nil
                } else {
                    block?.append(line)
                }
            }
        }
        #expect(blocks.count >= 3)
        return blocks
    }

    private static func secret(_ fields: String...) -> String {
        "version: 1\nsecrets:\n  - " + fields.joined(separator: "\n    ") + "\n"
    }

    private static func expiring(_ time: String) -> String {
        secret("name: a", "value: {env: A}", "expires_at: \(time)")
    }

    /// Manifests at the edges of each rule, with the verdict both the tool and the schema give.
    static let cases: [(label: String, yaml: String, valid: Bool)] =
        [
            ("name: no", secret("name: no", "value: {env: A}"), true),
            ("name: 0123", secret("name: 0123", "value: {env: A}"), true),
            ("name: true", secret("name: true", "value: {env: A}"), true),
            ("name: 1e3", secret("name: 1e3", "value: {env: A}"), true),
            ("name with /, é and an emoji", secret("name: \"caf\u{E9}/\u{1F511}\"", "value: {env: A}"), true),
            ("name of 5,000 é", secret("name: \(String(repeating: "\u{E9}", count: 5000))", "value: {env: A}"), true),
            ("name of 5,001 é", secret("name: \(String(repeating: "\u{E9}", count: 5001))", "value: {env: A}"), false),
            ("name: ~", secret("name: ~", "value: {env: A}"), false),
            ("name with U+00AD", secret(#"name: "soft\u00ADhyphen""#, "value: {env: A}"), false),
            ("name with U+007F", secret(#"name: "a\x7Fb""#, "value: {env: A}"), false),
            ("name with U+2028", secret(#"name: "a\u2028b""#, "value: {env: A}"), false),
            ("name with U+202E", secret(#"name: "a\u202Eb""#, "value: {env: A}"), false),
            ("name with U+E0001", secret(#"name: "a\U000E0001b""#, "value: {env: A}"), false),
            ("version: 01", "version: 01\nsecrets: []\n", true),
            ("version: 1.0", "version: 1.0\nsecrets: []\n", false),
            ("version: +1", "version: +1\nsecrets: []\n", false),
            ("defaults: {}", "version: 1\ndefaults: {}\nsecrets: []\n", true),
            ("defaults: ~", "version: 1\ndefaults: ~\nsecrets: []\n", false),
            ("defaults scope: user", "version: 1\ndefaults: {scope: user}\nsecrets: []\n", false),
            ("secrets: ~", "version: 1\nsecrets: ~\n", false),
            ("env: true", secret("name: a", "value: {env: true}"), true),
            ("env: 123", secret("name: a", "value: {env: 123}"), false),
            ("env of 64 characters", secret("name: a", "value: {env: \(String(repeating: "E", count: 64))}"), true),
            ("env of 65 characters", secret("name: a", "value: {env: \(String(repeating: "E", count: 65))}"), false),
            ("file: 123", secret("name: a", "value: {file: 123}"), true),
            ("file: keys/sk_x", secret("name: a", "value: {file: keys/sk_x}"), true),
            ("file: ~", secret("name: a", "value: {file: ~}"), false),
            ("trim_newline: FALSE", secret("name: a", "value: {file: a.txt, trim_newline: FALSE}"), true),
            ("trim_newline: no", secret("name: a", "value: {file: a.txt, trim_newline: no}"), false),
            ("trim_newline: 'true'", secret("name: a", "value: {file: a.txt, trim_newline: 'true'}"), false),
            ("trim_newline: ~", secret("name: a", "value: {file: a.txt, trim_newline: ~}"), false),
            ("scope: 'account'", secret("name: a", "value: {env: A}", "scope: 'account'"), true),
            ("scope: {type: account}", secret("name: a", "value: {env: A}", "scope: {type: account}"), true),
            ("scope: Account", secret("name: a", "value: {env: A}", "scope: Account"), false),
            ("account scope, user: ~", secret("name: a", "value: {env: A}", "scope: {type: account, user: ~}"), false),
            ("user: usr_", secret("name: a", "value: {env: A}", "scope: {type: user, user: usr_}"), false),
            ("user: usr_a-b", secret("name: a", "value: {env: A}", "scope: {type: user, user: usr_a-b}"), false),
            (
                "user of 255", secret("name: a", "value: {env: A}", "scope: {type: user, user: \(id("usr_", 255))}"),
                true
            ),
            (
                "user of 256", secret("name: a", "value: {env: A}", "scope: {type: user, user: \(id("usr_", 256))}"),
                false
            ),
            ("account of 255", secret("name: a", "value: {env: A}", "account: \(id("acct_", 255))"), true),
            ("account of 256", secret("name: a", "value: {env: A}", "account: \(id("acct_", 256))"), false),
            ("account: acct_A-1", secret("name: a", "value: {env: A}", "account: acct_A-1"), false),
            ("accounts: [acct_A1]", secret("name: a", "value: {env: A}", "accounts: [acct_A1]"), true),
            ("accounts with a number", secret("name: a", "value: {env: A}", "accounts: [acct_A1, 5]"), false),
            ("expires lower case", expiring("2099-06-30t00:00:00z"), true),
            ("expires with a space", expiring("2099-06-30 00:00:00+05:30"), true),
            ("expires .000", expiring("2099-06-30T00:00:00.000Z"), true),
            ("expires quoted", expiring("\"2099-06-30T00:00:00Z\""), true),
            ("expires 2096-02-29", expiring("2096-02-29T00:00:00Z"), true),
            ("expires 2400-02-29", expiring("2400-02-29T12:00:00-12:00"), true),
            ("expires 9999-12-31", expiring("9999-12-31T23:59:59Z"), true),
            ("expires 253402300799", expiring("253402300799"), true),
            ("expires 2100-02-29", expiring("2100-02-29T00:00:00Z"), false),
            ("expires 2099-06-31", expiring("2099-06-31T00:00:00Z"), false),
            ("expires 24:00:00", expiring("2099-06-30T24:00:00Z"), false),
            ("expires leap second", expiring("2099-06-30T23:59:60Z"), false),
            ("expires +24:00", expiring("2099-06-30T00:00:00+24:00"), false),
            ("expires +0200", expiring("2099-06-30T00:00:00+0200"), false),
            ("expires .1", expiring("2099-06-30T00:00:00.1Z"), false),
            ("expires no seconds", expiring("2099-06-30T00:00Z"), false),
            ("expires year 10000", expiring("10000-01-01T00:00:00Z"), false),
            ("expires 253402300800", expiring("253402300800"), false),
            ("expires -1", expiring("-1"), false),
            ("expires 1e10", expiring("1e10"), false),
        ]
        + CredentialShape.prefixes.flatMap { prefix in
            [
                ("env: \(prefix)X", secret("name: a", "value: {env: \"\(prefix)X\"}"), false),
                ("file: \(prefix)x", secret("name: a", "value: {file: \"\(prefix)x\"}"), false),
            ]
        }

    private static func id(_ prefix: String, _ length: Int) -> String {
        prefix + String(repeating: "a", count: length - prefix.count)
    }
}

extension Unicode.Scalar {
    fileprivate var hex: String { "U+" + String(value, radix: 16, uppercase: true) }
}
