import Foundation
import SecretsCore
import StateStorage
import Testing
import TestSupport

/// What a new user tripped over in their first hour, each kept fixed.
@Suite struct NewcomerTests {
    static let subcommands = [
        [], ["validate"], ["plan"], ["apply"], ["show"], ["state"], ["state", "list"], ["state", "rm"],
        ["state", "pull"], ["state", "push"], ["state", "rekey"], ["import"], ["schema"], ["force-unlock"],
        ["emulator"],
    ]

    /// In an 80-column terminal, every example in every `--help` stays on its lines: a block of
    /// examples (the lines after one ending with `:`) never wraps into column 0 or past 80.
    @Test(arguments: subcommands)
    func helpExamplesFitEightyColumns(command: [String]) throws {
        let folder = try TemporaryFolder()
        let runner = BinaryRunner(environment: ["COLUMNS": "80"], directory: folder.path)
        let help = try runner.run(command + ["--help"])
        #expect(help.status == 0)
        let lines = help.stdout.components(separatedBy: "\n")
        let usage = lines.firstIndex { $0.hasPrefix("USAGE:") } ?? lines.count
        var inExamples = false
        var examples = 0
        for line in lines[..<usage] {
            if line.isEmpty {
                inExamples = false
            } else if inExamples {
                examples += 1
                #expect(line.hasPrefix("  "), "\(command): an example wrapped: '\(line)'")
                #expect(line.count <= 80, "\(command): an example is \(line.count) columns: '\(line)'")
            } else if line.hasSuffix(":") {
                inExamples = true
            }
        }
        if command != ["state"] { #expect(examples > 0, "\(command) shows no examples") }
    }

    @Test func aPlanFileInAMissingFolderIsRefusedBeforePlanningNamingTheFolder() throws {
        let scenario = try PlanScenario()
        let output = try scenario.runner.run("plan", "--out", "nodir/plan.json")
        #expect(output.status == 1)
        #expect(
            output.stderr
                == "error: --out nodir/plan.json: the folder nodir does not exist; create it, or save the plan elsewhere\n"
        )
        #expect(output.stdout.isEmpty)
    }

    @Test func aPlanAppliedFromAnotherFolderSaysWhereToRunIt() throws {
        let scenario = try PlanScenario()
        #expect(try scenario.runner.run("plan", "--out", "plan.json").status == 0)
        let elsewhere = try TemporaryFolder()
        var runner = scenario.runner
        runner.directory = elsewhere.path
        runner.environment["STRIPE_API_KEY"] = "sk_test_newcomer0123"
        let output = try runner.run("apply", scenario.folder.path + "/plan.json")
        #expect(output.status == 1)
        #expect(
            output.stderr.hasPrefix(
                "error: \(scenario.folder.path)/plan.json was made in \(scenario.folder.path), and its manifest "
                    + "(secrets.yaml) and state (secrets.state.json) are named from there. Apply it from that folder:\n"
                    + "       cd \(scenario.folder.path) && stripe-secrets apply \(scenario.folder.path)/plan.json"),
            "\(output.stderr)")
    }

    @Test func aMissingAbsoluteFileIsNotGivenTheRelativePathHint() throws {
        let folder = try TemporaryFolder()
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {file: /etc/missing-key}\n")
        let output = try BinaryRunner(directory: folder.path).run("validate")
        #expect(output.stderr.contains("/etc/missing-key does not exist\n"), "\(output.stderr)")
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {file: keys/missing}\n")
        let relative = try BinaryRunner(directory: folder.path).run("validate")
        #expect(relative.stderr.contains("keys/missing does not exist (relative paths start at the manifest's folder)"))
    }

    @Test func aMissingStateIsAWarningInEveryFormat() throws {
        let folder = try TemporaryFolder()
        try folder.write("secrets.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {env: A}\n")
        let runner = BinaryRunner(environment: ["A": "canary-a"], directory: folder.path)
        let text = try runner.run("plan")
        #expect(
            text.stdout.contains(
                "warning: no state at secrets.state.json: every secret in secrets.yaml is planned as a create.\n"
                    + "         If these secrets already exist in Stripe, point --state at the right state, or adopt\n"
                    + "         them with `stripe-secrets import --all` (or see them with `plan --refresh`).\n"))
        try FileManager.default.removeItem(atPath: folder.path + "/secrets.state.json")
        let markdown = try runner.run("plan", "--format", "markdown")
        #expect(markdown.stdout.contains("> [!CAUTION]\n> No state was found at `secrets.state.json`"))
        try FileManager.default.removeItem(atPath: folder.path + "/secrets.state.json")
        let json = try runner.run("plan", "--format", "json")
        #expect(json.stderr.contains("warning: no state at secrets.state.json"))
        // Once the state exists, the plan says nothing of it.
        #expect(!(try runner.run("plan").stdout.contains("warning: no state")))
    }

    @Test func smallMessagesSayWhatToDo() throws {
        let scenario = try PlanScenario()
        // force-unlock with no state at all is an error, not "not locked".
        let folder = try TemporaryFolder()
        let unlock = try BinaryRunner(directory: folder.path).run("force-unlock")
        #expect(unlock.status == 1)
        #expect(unlock.stderr.contains("secrets.state.json does not exist, so there is no lock to remove"))
        // show of a state file says what it is.
        let shown = try scenario.runner.run("show", "secrets.state.json")
        #expect(shown.status == 1)
        #expect(shown.stderr.contains("secrets.state.json is a stripe-secrets state, not a plan"))
        // plan --out with no changes says it saved the file.
        try scenario.folder.write("secrets.yaml", "version: 1\nsecrets: []\n")
        try FileManager.default.removeItem(atPath: scenario.folder.path + "/secrets.state.json")
        let empty = try scenario.runner.run("plan", "--out", "plan.json")
        #expect(empty.stdout.contains("Saved to plan.json (no changes: applying it does nothing)"))
        // apply --help names the flag before the variable it overrides.
        let help = try scenario.runner.run("apply", "--help")
        #expect(help.stdout.contains("--api-base, else STRIPE_API_BASE"))
    }

    @Test func aKeyOfTheOtherModeNamesStateFlag() throws {
        let scenario = try ApplyScenario().applied()
        var live = scenario.runner
        live.environment["STRIPE_API_KEY"] = "sk_live_fakeNEWCOMER"
        let output = try live.run("apply", "--auto-approve")
        #expect(output.status == 1)
        #expect(output.stderr.contains("name it with --state (or STRIPE_SECRETS_STATE), or use a test key"))
    }

    @Test func anExpiryChangeReadsInOneFormat() throws {
        let scenario = try ApplyScenario().applied()
        try scenario.folder.write(
            "secrets.yaml",
            ApplyScenario.manifest.replacing("2099-06-30T00:00:00Z", with: "2099-12-30T23:00:00Z"))
        let output = try scenario.runner.run("plan")
        #expect(output.stdout.contains("expires_at 2099-06-30T00:00:00Z -> 2099-12-30T23:00:00Z"), "\(output.stdout)")
        let markdown = try scenario.runner.run("plan", "--format", "markdown")
        #expect(markdown.stdout.contains("(sha256 "))
    }
}
