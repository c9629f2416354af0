import Foundation
import SecretsCore
import SecretsModel
@testable import StateStorage
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A state and a plan of one secret recorded and one to create, written by the tool, in a
/// folder of their own; each test edits one of them as a hostile or broken copy would be.
struct HostileFiles {
    static let manifest = """
        version: 1
        secrets:
          - name: a
            value: {env: VALUE_A}
            expires_at: 2099-01-01T00:00:00Z
          - name: b
            value: {env: VALUE_A}

        """
    let folder: TemporaryFolder
    var runner: BinaryRunner
    let state: String
    let plan: String

    init() throws {
        folder = try TemporaryFolder()
        // Stripe is unreachable: a command that got as far as a request would say so.
        runner = BinaryRunner(
            environment: [
                "VALUE_A": "value-a", "STRIPE_API_KEY": "sk_test_fakeHostile1", "STRIPE_API_BASE": "http://127.0.0.1:1",
            ], directory: folder.path)
        try folder.write("secrets.yaml", Self.manifest)
        let key = FingerprintKey()
        let address = SecretAddress(account: nil, scope: .account, name: "a")
        var recorded = State(
            lineage: UUID().uuidString.lowercased(), serial: 1, mode: .test, fingerprintKey: key, secrets: [:])
        recorded.record(
            State.Entry(
                id: "appsecret_1Hostile", fingerprint: key.fingerprint(of: SecretValue("value-a"), at: address),
                expiresAt: 4_070_908_800, appliedAt: 1_800_000_000),
            at: address)
        try FileStateBackend(path: folder.path + "/secrets.state.json").write(recorded)
        let planned = try runner.run("plan", "--out", "plan.json")
        try #require(planned.status == 0, "\(planned.stderr)")
        state = try String(contentsOfFile: folder.path + "/secrets.state.json", encoding: .utf8)
        plan = try String(contentsOfFile: folder.path + "/plan.json", encoding: .utf8)
    }

    /// `text` with the first value of `field` (a string, number, literal or empty list) replaced.
    static func edit(_ text: String, _ field: String, _ value: String) throws -> String {
        let pattern = try Regex("\"\(field)\" : (\"[^\"]*\"|[-0-9.e]+|true|false|null|\\[\\s*\\])")
        let match = try #require(text.firstMatch(of: pattern), "no \(field) in the fixture")
        return text.replacingCharacters(in: match.range, with: "\"\(field)\" : \(value)")
    }

    /// Every file in the folder with its bytes and modification time.
    func snapshot() throws -> [String: (bytes: Data, modified: Date)] {
        var files: [String: (Data, Date)] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let path = folder.path + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            files[name] = (
                FileManager.default.contents(atPath: path) ?? Data(),
                try #require(attributes[.modificationDate] as? Date)
            )
        }
        return files
    }

    /// Runs `command`, which must refuse naming `file` and `problem`, and checks that no file was
    /// written, touched or created but the lock file, left empty and free.
    func expectRefused(
        _ command: [String], naming file: String, _ problem: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let before = try snapshot()
        let output = try runner.run(command)
        let after = try snapshot()
        let shown = "\(command.joined(separator: " ")): \(output.stderr)"
        #expect(output.status == 1, "\(shown)", sourceLocation: sourceLocation)
        #expect(
            output.stderr.contains(file) && output.stderr.contains(problem), "\(shown)", sourceLocation: sourceLocation)
        #expect(!output.stderr.contains("could not reach Stripe"), "\(shown)", sourceLocation: sourceLocation)
        // The lock file is the tool's own: a command may take the lock before it reads the
        // state, and must leave the file empty and the lock free.
        for (name, file) in before where name != "secrets.state.json.lock" {
            #expect(
                after[name]?.bytes == file.bytes && after[name]?.modified == file.modified, "\(name) changed: \(shown)",
                sourceLocation: sourceLocation)
        }
        for name in after.keys where before[name] == nil || name == "secrets.state.json.lock" {
            #expect(
                name == "secrets.state.json.lock" && after[name]?.bytes.isEmpty == true, "\(name) was left: \(shown)",
                sourceLocation: sourceLocation)
        }
        #expect(lockIsFree(), "the lock is held after \(shown)", sourceLocation: sourceLocation)
    }

    /// Whether the state's lock can be taken now (true when there is no lock file).
    func lockIsFree() -> Bool {
        let descriptor = open(folder.path + "/secrets.state.json.lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return errno == ENOENT }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_EX | LOCK_NB) == 0
    }

    /// Every command that reads the state.
    static let stateCommands = [
        ["plan"], ["plan", "--refresh"], ["apply", "--auto-approve"], ["apply", "plan.json"], ["state", "list"],
        ["state", "pull"], ["state", "rm", "account/a"], ["state", "rekey", "--embed-new-key"], ["import", "--all"],
    ]
}

/// State edits: the field, its new value, and what the error must say.
private let stateEdits: [(field: String, value: String, problem: String)] = [
    ("format", "1", "is not a stripe-secrets state file"),
    ("format", "\"stripe-secrets-plan\"", "is a stripe-secrets plan, not a state"),
    ("format_version", "2", "has format version 2, written by a newer stripe-secrets"),
    ("format_version", "\"1\"", "format_version is missing or not a positive number"),
    ("format_version", "1.5", "format_version is missing or not a positive number"),
    ("format_version", "99999999999999999999", "format_version is missing or not a positive number"),
    ("format_version", "1e400", "format_version is missing or not a positive number"),
    ("format_version", "-1", "format_version is missing or not a positive number"),
    ("lineage", "1", "lineage has the wrong type"),
    ("lineage", "null", "lineage has the wrong type"),
    ("mode", "1", "mode has the wrong type"),
    ("mode", "\"prod\"", "mode is invalid"),
    ("serial", "\"1\"", "serial has the wrong type"),
    ("serial", "true", "serial has the wrong type"),
    ("serial", "-1", "serial is out of range"),
    ("serial", "1.0", "serial must be a whole number"),
    ("serial", "1e400", "serial must be a whole number"),
    ("serial", "18446744073709551616", "serial is beyond the range of exact whole numbers"),
    ("serial", "99999999999999999999", "serial is beyond the range of exact whole numbers"),
    ("fingerprint_key", "1", "fingerprint_key has the wrong type"),
    ("address", "1", "secrets[0].address has the wrong type"),
    ("applied_at", "1", "secrets[0].applied_at has the wrong type"),
    ("expires_at", "\"2099\"", "secrets[0].expires_at has the wrong type"),
    ("expires_at", "99999999999999999999", "secrets[0].expires_at is beyond the range of exact whole numbers"),
    ("fingerprint", "\"zz\"", "secrets[0].fingerprint is invalid"),
    ("id", "1", "secrets[0].id has the wrong type"),
]

/// Damage that no edit of one field makes: a file cut short, a key twice, stray bytes.
private let stateDamage: [(name: String, damage: @Sendable (String) -> [UInt8], problem: String)] = [
    ("truncated", { Array($0.utf8.prefix($0.utf8.count / 2)) }, "not valid JSON"),
    (
        "duplicate key", { Array($0.replacing("\"serial\" : 1", with: "\"serial\" : 1, \"serial\" : 0").utf8) },
        "serial appears twice"
    ),
    ("NUL in a string", { Array($0.replacing("\"test\"", with: "\"te\u{0}st\"").utf8) }, "not valid JSON"),
    ("escaped NUL", { Array($0.replacing("\"test\"", with: "\"te\\u0000st\"").utf8) }, "mode is invalid"),
    (
        "secrets as an object",
        {
            Array(
                $0.replacing("\"secrets\" : [", with: "\"secrets\" : {\"list\" : [")
                    .replacing("\n  ],\n  \"serial\"", with: "\n  ]},\n  \"serial\"").utf8)
        }, "secrets must not be an object"
    ),
    ("NUL after", { Array($0.utf8) + [0] }, "not valid JSON"),
    ("two documents", { Array(($0 + $0).utf8) }, "not valid JSON"),
    (
        "not UTF-8",
        { Array($0.replacing("\"test\"", with: "\"t?st\"").utf8).map { $0 == UInt8(ascii: "?") ? 0xFF : $0 } },
        "not valid JSON"
    ),
]

@Suite struct HostileFileTests {
    @Test(arguments: stateEdits)
    func aStateWithAWrongFieldIsRefusedAndNothingIsWritten(field: String, value: String, problem: String) throws {
        let files = try HostileFiles()
        try files.folder.write("secrets.state.json", try HostileFiles.edit(files.state, field, value))
        for command in HostileFiles.stateCommands {
            try files.expectRefused(command, naming: "secrets.state.json", problem)
        }
    }

    @Test(arguments: stateDamage.map(\.name))
    func aDamagedStateIsRefusedAndNothingIsWritten(name: String) throws {
        let (_, damage, problem) = try #require(stateDamage.first { $0.name == name })
        let files = try HostileFiles()
        try files.folder.write("secrets.state.json", damage(files.state))
        for command in HostileFiles.stateCommands {
            try files.expectRefused(command, naming: "secrets.state.json", problem)
        }
    }

    @Test(arguments: [
        ("format_version", "2", "has format version 2, written by a newer stripe-secrets"),
        ("format_version", "99999999999999999999", "format_version is missing or not a positive number"),
        ("created_at", "1", "created_at has the wrong type"),
        ("serial", "-1", "the state's lineage or serial is invalid"),
        ("serial", "1e400", "serial must be a whole number"),
        ("serial", "99999999999999999999", "serial is beyond the range of exact whole numbers"),
        ("lineage", "\"00000000-0000-0000-0000-000000000000\"", "was made for another state than secrets.state.json"),
        ("complete", "\"yes\"", "complete has the wrong type"),
        ("create", "\"1\"", "summary.create has the wrong type"),
        ("action", "\"destroy\"", "changes[0].action is invalid"),
        ("fingerprint_after", "\"zz\"", "changes[0].fingerprint_after is invalid"),
    ])
    func aPlanWithAWrongFieldIsRefusedAndNothingIsWritten(field: String, value: String, problem: String) throws {
        let files = try HostileFiles()
        try files.folder.write("plan.json", try HostileFiles.edit(files.plan, field, value))
        for command in [["apply", "plan.json"]] + (problem.hasPrefix("was made for") ? [] : [["show", "plan.json"]]) {
            try files.expectRefused(command, naming: "plan.json", problem)
        }
    }

    @Test func aDamagedPlanIsRefusedAndNothingIsWritten() throws {
        let files = try HostileFiles()
        // The damage that works on any document: a plan holds no secrets list, and its serial
        // and mode are checked as the state's are.
        for (_, damage, problem) in stateDamage where problem == "not valid JSON" {
            let damaged = damage(files.plan)
            #expect(damaged != Array(files.plan.utf8))
            try files.folder.write("plan.json", damaged)
            for command in [["apply", "plan.json"], ["show", "plan.json"]] {
                try files.expectRefused(command, naming: "plan.json", problem)
            }
        }
    }

    @Test func aSymlinkedStateJournalOrPlanTouchesNoTarget() throws {
        let files = try HostileFiles()
        try files.folder.write("elsewhere.json", files.state)
        try FileManager.default.removeItem(atPath: files.folder.path + "/secrets.state.json")
        try FileManager.default.createSymbolicLink(
            atPath: files.folder.path + "/secrets.state.json", withDestinationPath: "elsewhere.json")
        for command in HostileFiles.stateCommands {
            try files.expectRefused(command, naming: "secrets.state.json", "symbolic link")
        }
        try files.folder.write("victim.txt", "keep me\n")
        try FileManager.default.createSymbolicLink(
            atPath: files.folder.path + "/out.json", withDestinationPath: "victim.txt")
        try FileManager.default.removeItem(atPath: files.folder.path + "/secrets.state.json")
        try files.folder.write("secrets.state.json", files.state)
        try files.expectRefused(["plan", "--out", "out.json"], naming: "out.json", "left untouched")
        try FileManager.default.createSymbolicLink(
            atPath: files.folder.path + "/secrets.state.json.journal", withDestinationPath: "victim.txt")
        // `state pull` only notes that a journal is there; a plan file is refused for it at once.
        let journalReaders = HostileFiles.stateCommands.filter {
            $0 != ["state", "pull"] && $0 != ["apply", "plan.json"]
        }
        for command in journalReaders {
            try files.expectRefused(
                command, naming: "secrets.state.json.journal", "is a symbolic link or a special file")
        }
        try files.expectRefused(
            ["apply", "plan.json"], naming: "plan.json", "the journal of a running or interrupted apply")
    }

    @Test func aSymlinkedBackupIsReplacedAndItsTargetLeftAlone() throws {
        let files = try HostileFiles()
        try files.folder.write("victim.txt", "keep me\n")
        try FileManager.default.createSymbolicLink(
            atPath: files.folder.path + "/secrets.state.json.backup", withDestinationPath: "victim.txt")
        let removed = try files.runner.run("state", "rm", "account/a")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try String(contentsOfFile: files.folder.path + "/victim.txt", encoding: .utf8) == "keep me\n")
        #expect(
            try String(contentsOfFile: files.folder.path + "/secrets.state.json.backup", encoding: .utf8) == files.state
        )
    }
}

/// The same edits in a PostgreSQL state's document, as someone who can write the database
/// would make them (the `json` column keeps a key twice and numbers as written).
@Suite(
    .disabled(
        if: PostgresCluster.skipReason != nil,
        "PostgreSQL server binaries not found: install Debian's postgresql package, or set STRIPE_SECRETS_PG_BIN"))
struct HostileDatabaseDocumentTests {
    @Test func aDocumentWithAWrongFieldIsRefusedAndTheRowIsUntouched() throws {
        let cluster = try PostgresCluster.shared.get()
        let database = "hostile_" + UUID().uuidString.prefix(8).lowercased()
        try cluster.createDatabase(database)
        var files = try HostileFiles()
        files.runner.environment["STRIPE_SECRETS_STATE"] = cluster.url(database: database)
        files.runner.environment["PGPASSWORD"] = cluster.password
        let pushed = try files.runner.run("state", "push", "secrets.state.json")
        try #require(pushed.status == 0, "\(pushed.stderr)")
        let row = """
            SELECT md5(document::text), md5(coalesce(previous_document::text, '')), serial, lineage, updated_at,
              (SELECT count(*) FROM stripe_secrets.lock_holders), (SELECT count(*) FROM stripe_secrets.journals)
            FROM stripe_secrets.states
            """
        let edited =
            try stateEdits.map {
                ("\($0.field) = \($0.value)", try HostileFiles.edit(files.state, $0.field, $0.value), $0.problem)
            }
            + stateDamage.filter { ["duplicate key", "escaped NUL", "secrets as an object"].contains($0.name) }.map {
                ($0.name, String(decoding: $0.damage(files.state), as: UTF8.self), $0.problem)
            }
        for (name, document, fileProblem) in edited {
            let problem =
                fileProblem == "is not a stripe-secrets state file"
                ? "does not hold a stripe-secrets state document" : fileProblem
            try cluster.psql("UPDATE stripe_secrets.states SET document = $doc$\(document)$doc$", database: database)
            let before = try cluster.psql(row, database: database)
            // One reader, one that plans and locks, and the ones that lock before they read.
            for command in [
                ["state", "list"], ["apply", "--auto-approve"], ["state", "rm", "account/a"], ["import", "--all"],
            ] {
                let output = try files.runner.run(command)
                let shown = "\(name): \(command.joined(separator: " ")): \(output.stderr)"
                #expect(output.status == 1, "\(shown)")
                // A serial or lineage edit may be found first as a row that disagrees with its document.
                #expect(
                    output.stderr.contains("postgres://")
                        && (output.stderr.contains(problem) || output.stderr.contains("the row's serial and lineage")),
                    "\(shown)")
                #expect(!output.stderr.contains("could not reach Stripe"), "\(shown)")
                #expect(try cluster.psql(row, database: database) == before, "the row changed: \(shown)")
            }
        }
    }
}
