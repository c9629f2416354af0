import Foundation
import Testing
import TestSupport

/// The example pipelines (examples/ci/) and docs/gitops.md are copied into real CI files, so
/// every `stripe-secrets …` command in them must name a real subcommand and real options: the
/// ones the built binary's `--help` lists. (Running each command with `--help` appended would
/// prove nothing: the argument parser prints help before it looks at the other arguments, so
/// `plan --no-such-option --help` exits 0, as `appendingHelpWouldHideAWrongOption` shows.)
///
/// A command is `stripe-secrets` as a word (not inside a path or a longer name) followed by
/// more words on the line, in YAML comments too, so that a commented alternative is checked as
/// well; prose in these files calls it "the tool" instead.
@Suite struct PipelineExamplesTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The pipeline files and docs/gitops.md, as paths relative to the repository.
    static func sources() throws -> [String] {
        let folder = repository.appendingPathComponent("examples/ci")
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else {
            throw CocoaError(.fileNoSuchFile)
        }
        let pipelines = walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".yml") }.map { "examples/ci/\($0)" }
        return pipelines.sorted() + ["docs/gitops.md"]
    }

    @Test func everyCommandInThePipelinesAndInGitopsDocExists() throws {
        let help = HelpIndex()
        var subcommands: Set<String> = []
        let sources = try Self.sources()
        #expect(sources.count >= 6, "expected 3 workflows, an action, the GitLab file and the doc: \(sources)")
        for path in sources {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
            let commands = CommandExtractor.commands(in: text, markdown: path.hasSuffix(".md"))
            #expect(!commands.isEmpty, "\(path) shows no stripe-secrets command; is the extractor blind?")
            for command in commands {
                subcommands.insert(command.arguments.first ?? "")
                for problem in try help.problems(command.arguments) {
                    Issue.record(
                        "\(path):\(command.line): `stripe-secrets \(command.arguments.joined(separator: " "))`: \(problem)"
                    )
                }
            }
        }
        #expect(
            subcommands.isSuperset(of: ["validate", "plan", "apply", "show"]), "found only \(subcommands.sorted())")
    }

    @Test func aWrongSubcommandOrOptionIsCaughtAndRightOnesPass() throws {
        let help = HelpIndex()
        #expect(try help.problems(["plan", "--no-such-option"]) == ["`plan` has no option --no-such-option"])
        #expect(try help.problems(["plann", "--out", "x"]) == ["`plann` is not a subcommand of stripe-secrets"])
        #expect(try help.problems(["state", "lsit"]) == ["`lsit` is not a subcommand of stripe-secrets state"])
        #expect(try help.problems(["state", "list", "--out", "x"]) == ["`state list` has no option --out"])
        #expect(try help.problems(["validate", "-x"]) == ["`validate` has no option -x"])
        #expect(try help.problems(["plan", "-f", "a.yaml", "--format=markdown", "--out", "p.json"]).isEmpty)
        #expect(try help.problems(["state", "pull", "--workspace", "prod"]).isEmpty)
        #expect(try help.problems(["apply", "plan.json", "--lock-timeout", "5m"]).isEmpty)
        #expect(try help.problems(["--version"]).isEmpty)
    }

    @Test func commandsAreFoundInScriptsCommentsAndCodeButNotInNames() {
        let yaml = #"""
            name: "stripe-secrets: plan"
            run: |
              stripe-secrets plan --out plan.json --format markdown > plan.md || code=$?
              x="$(stripe-secrets show plan.json --format json)"; install bin/stripe-secrets /opt/stripe-secrets/bin/
              # the alternative: stripe-secrets apply --auto-approve \
              #   --lock-timeout 5m
            - stripe-secrets validate --skip-values  # a fork's run
            artifact: stripe-secrets-plan, STRIPE_SECRETS_STATE, .stripe-secrets/bin, stripe-secrets
            """#
        #expect(
            CommandExtractor.commands(in: yaml, markdown: false).map { "\($0.line): \($0.arguments)" } == [
                #"3: ["plan", "--out", "plan.json", "--format", "markdown"]"#,
                #"4: ["show", "plan.json", "--format", "json"]"#,
                #"5: ["apply", "--auto-approve", "--lock-timeout", "5m"]"#,
                #"7: ["validate", "--skip-values"]"#,
            ])
        let markdown = """
            Run `stripe-secrets plan --refresh` daily; stripe-secrets plan in prose is not code.
            ```console
            $ stripe-secrets state list --state 'postgres://u@h:5432/d'
            stripe-secrets plan: secrets.yaml against postgres://u@h:5432/d (workspace prod)
            ```
            """
        #expect(
            CommandExtractor.commands(in: markdown, markdown: true).map { "\($0.line): \($0.arguments)" } == [
                #"1: ["plan", "--refresh"]"#,
                #"3: ["state", "list", "--state", "postgres://u@h:5432/d"]"#,
                #"4: ["plan:", "secrets.yaml", "against", "postgres://u@h:5432/d", "(workspace", "prod"]"#,
            ])
    }

    /// Why the check reads `--help` instead of appending `--help` to each command.
    @Test func appendingHelpWouldHideAWrongOption() throws {
        let folder = try TemporaryFolder()
        let output = try BinaryRunner(directory: folder.path).run("plan", "--no-such-option", "--help")
        #expect(output.status == 0)
        #expect(
            try HelpIndex().problems(["plan", "--no-such-option", "--help"]) == [
                "`plan` has no option --no-such-option"
            ])
    }

    @Test func theExampleManifestValidatesWithTheValuesThePipelinesProvide() throws {
        let folder = try TemporaryFolder()
        let manifest = try String(
            contentsOf: Self.repository.appendingPathComponent("examples/ci/secrets.yaml"), encoding: .utf8)
        try folder.write("secrets.yaml", manifest)
        try folder.write("keys/signing.pem", "-----BEGIN KEY-----\nexample\n-----END KEY-----\n")
        let runner = BinaryRunner(
            environment: ["OPENAI_API_KEY": "example-openai", "OAUTH_TOKEN": "example-oauth"], directory: folder.path)
        let output = try runner.run("validate")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == "secrets.yaml: 3 secrets in 2 scopes across 1 account; all values resolved\n")
    }
}

/// A command found in a file: its line (1-based) and the words after `stripe-secrets`.
struct FoundCommand {
    let line: Int
    let arguments: [String]
}

/// Finds `stripe-secrets …` commands in YAML or shell text (every line) or Markdown (fenced code
/// blocks and inline code spans).
enum CommandExtractor {
    static func commands(in text: String, markdown: Bool) -> [FoundCommand] {
        var found: [FoundCommand] = []
        var fenced = false
        let lines = text.components(separatedBy: "\n")
        var index = 0
        while index < lines.count {
            let number = index + 1
            var line = lines[index]
            index += 1
            if markdown, line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                fenced.toggle()
                continue
            }
            // A command continued with a backslash, in a script or in a comment.
            while line.hasSuffix("\\"), index < lines.count {
                line.removeLast()
                line += " " + lines[index].drop { $0 == " " || $0 == "\t" || $0 == "#" }
                index += 1
            }
            let pieces = markdown && !fenced ? inlineCode(line) : [Substring(line)]
            for piece in pieces {
                found += starts(in: piece).map { FoundCommand(line: number, arguments: words($0)) }
            }
        }
        return found
    }

    /// The text of each `code span` on a line of prose.
    private static func inlineCode(_ line: String) -> [Substring] {
        let parts = line.split(separator: "`", omittingEmptySubsequences: false)
        return stride(from: 1, to: parts.count - 1, by: 2).map { parts[$0] }
    }

    /// What follows each `stripe-secrets` that is a word of its own, followed by more words.
    private static func starts(in text: Substring) -> [Substring] {
        let name = "stripe-secrets"
        return text.ranges(of: name).compactMap { range in
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            if let before, before.isLetter || before.isNumber || "_./$-".contains(before) { return nil }
            let rest = text[range.upperBound...]
            guard let first = rest.first, first == " " || first == "\t" else { return nil }
            let words = rest.drop { $0 == " " || $0 == "\t" }
            return words.isEmpty ? nil : words
        }
    }

    /// The words of a shell command up to where it ends (`;`, `&`, `|`, `<`, `>`, `)`, a
    /// backquote, or a comment), quotes removed.
    private static func words(_ text: Substring) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        func finish() {
            if inWord { words.append(current) }
            current = ""
            inWord = false
        }
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            switch character {
            case "\"", "'":
                quote = character
                inWord = true
            case " ", "\t":
                finish()
            case ";", "&", "|", "<", ">", ")", "`":
                finish()
                return words
            case "#" where !inWord:
                return words
            default:
                current.append(character)
                inWord = true
            }
        }
        finish()
        return words
    }
}

/// The subcommands and options of each command, as the built binary's `--help` lists them.
final class HelpIndex {
    private struct Help {
        var subcommands: Set<String> = []
        var options: Set<String> = []
    }

    private var cache: [[String]: Help] = [:]

    /// What is wrong with a command line (the words after `stripe-secrets`): an unknown
    /// subcommand, or options its subcommand does not have.
    func problems(_ arguments: [String]) throws -> [String] {
        var path: [String] = []
        var help = try self.help(path)
        var rest = arguments[...]
        // Subcommands come first; a trailing colon or comma is prose ("stripe-secrets plan: …").
        while let word = rest.first, !word.hasPrefix("-"), !help.subcommands.isEmpty {
            let name = String(word.reversed().drop { ":,.".contains($0) }.reversed())
            guard help.subcommands.contains(name) else {
                return ["`\(name)` is not a subcommand of \((["stripe-secrets"] + path).joined(separator: " "))"]
            }
            path.append(name)
            help = try self.help(path)
            rest = rest.dropFirst()
        }
        let command = path.isEmpty ? "stripe-secrets" : path.joined(separator: " ")
        return rest.filter { $0.hasPrefix("-") && $0 != "-" && $0 != "--" }
            .map { String($0.prefix { $0 != "=" }) }
            .filter { !help.options.contains($0) }
            .map { "`\(command)` has no option \($0)" }
    }

    private func help(_ path: [String]) throws -> Help {
        if let known = cache[path] { return known }
        let folder = try TemporaryFolder()
        let output = try BinaryRunner(directory: folder.path).run(path + ["--help"])
        guard output.status == 0 else {
            throw HelpError(message: "stripe-secrets \(path.joined(separator: " ")) --help exited \(output.status)")
        }
        var help = Help()
        var section = ""
        for line in output.stdout.components(separatedBy: "\n") {
            if let first = line.first, first != " " {
                section = line
                continue
            }
            guard line.hasPrefix("  "), let next = line.dropFirst(2).first, next != " " else { continue }
            let entry = line.dropFirst(2)
            switch section {
            case "SUBCOMMANDS:" where next.isLowercase:
                help.subcommands.insert(String(entry.prefix { $0 != " " }))
            case "OPTIONS:" where next == "-":
                // `-f, --file <file>   The manifest…`: the names before the description.
                let names = entry.components(separatedBy: "  ")[0]
                for part in names.components(separatedBy: ", ") {
                    help.options.insert(String(part.prefix { $0 != " " }))
                }
            default:
                continue
            }
        }
        cache[path] = help
        return help
    }
}

struct HelpError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
