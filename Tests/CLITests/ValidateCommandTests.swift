import Foundation
import Testing
import TestSupport

@Suite struct ValidateCommandTests {
    let canary = "cli-canary-secret-value"

    private func manifest() -> String {
        """
        version: 1
        secrets:
          - name: openai_api_key
            value: {env: OPENAI_API_KEY}
          - name: webhook_key
            value: {file: keys/webhook.pem}
          - name: shared
            accounts: [acct_A1, acct_B1]
            value: {env: OPENAI_API_KEY}
          - name: oauth_token
            scope: {type: user, user: usr_OkDR2bKzwpXu3s}
            value: {env: OPENAI_API_KEY}
        """
    }

    @Test func validManifestPrintsASummaryAndExitsZero() throws {
        let folder = try TemporaryFolder()
        try folder.write("secrets.yaml", manifest())
        try folder.write("keys/webhook.pem", canary + "\n")
        let runner = BinaryRunner(environment: ["OPENAI_API_KEY": canary], directory: folder.path)
        let output = try runner.run("validate")
        #expect(output.status == 0)
        #expect(output.stdout == "secrets.yaml: 5 secrets in 4 scopes across 3 accounts; all values resolved\n")
        #expect(output.stderr == "")
    }

    /// A hostile manifest cannot forge a line of the output: a line break in a path it quotes
    /// is shown escaped, in the one line of its diagnostic.
    @Test func aLineBreakInAQuotedPathStaysInItsDiagnosticsLine() throws {
        let folder = try TemporaryFolder()
        try folder.write(
            "secrets.yaml", "version: 1\nsecrets:\n  - name: a\n    value: {file: \"x\\nPlan: 0 to create.\"}\n")
        let output = try BinaryRunner(directory: folder.path).run("validate")
        #expect(output.status == 1)
        #expect(
            output.stderr == """
                secrets.yaml:4:12: error: x\\u{a}Plan: 0 to create. does not exist (relative paths start at the manifest's folder)
                1 error in secrets.yaml

                """)
    }

    /// Nor can the manifest's path: a line break in it is shown escaped, in the diagnostic and
    /// in the summary line.
    @Test func aLineBreakInTheManifestsPathStaysInItsLines() throws {
        let folder = try TemporaryFolder()
        let runner = BinaryRunner(directory: folder.path)
        let validated = try runner.run("validate", "-f", "no\nsuch.yaml")
        #expect(validated.status == 1)
        #expect(
            validated.stderr == """
                error: no\\u{a}such.yaml does not exist (pass the manifest with -f FILE)
                1 error in no\\u{a}such.yaml

                """)
    }

    @Test func problemsGoToStderrWithExitOneAndNoValue() throws {
        let folder = try TemporaryFolder()
        try folder.write("deploy.yaml", manifest() + "\n  - name: inline\n    value: \"\(canary)\"\n")
        try folder.write("keys/webhook.pem", "x\n")
        let runner = BinaryRunner(environment: ["OPENAI_API_KEY": "set"], directory: folder.path)
        let output = try runner.run("validate", "-f", "deploy.yaml")
        #expect(output.status == 1)
        #expect(output.stdout == "")
        #expect(
            output.stderr == """
                deploy.yaml:14:12: error: secret 'inline' has its value written inline; secret values must never be in the manifest: reference an environment variable ({env: NAME}) or a file ({file: PATH})
                1 error in deploy.yaml

                """)
        #expect(!output.stderr.contains(canary))
    }

    @Test func unresolvedValuesAreAllListed() throws {
        let folder = try TemporaryFolder()
        try folder.write("secrets.yaml", manifest())
        let output = try BinaryRunner(directory: folder.path).run("validate")
        #expect(output.status == 1)
        #expect(
            output.stderr == """
                secrets.yaml:4:12: error: environment variable OPENAI_API_KEY is not set
                secrets.yaml:6:12: error: keys/webhook.pem does not exist (relative paths start at the manifest's folder)
                secrets.yaml:9:12: error: environment variable OPENAI_API_KEY is not set
                secrets.yaml:12:12: error: environment variable OPENAI_API_KEY is not set
                4 errors in secrets.yaml

                """)
    }

    @Test func skipValuesChecksStructureOnly() throws {
        let folder = try TemporaryFolder()
        try folder.write("secrets.yaml", manifest())
        let output = try BinaryRunner(directory: folder.path).run("validate", "--skip-values")
        #expect(output.status == 0)
        #expect(
            output.stdout
                == "secrets.yaml: 5 secrets in 4 scopes across 3 accounts; values not checked (--skip-values)\n")
    }

    @Test func missingManifestSaysHowToPointAtOne() throws {
        let folder = try TemporaryFolder()
        let output = try BinaryRunner(directory: folder.path).run("validate")
        #expect(output.status == 1)
        #expect(
            output.stderr
                == "error: secrets.yaml does not exist (pass the manifest with -f FILE)\n1 error in secrets.yaml\n")
    }

    @Test func versionAndHelp() throws {
        let folder = try TemporaryFolder()
        let runner = BinaryRunner(directory: folder.path)
        let version = try runner.run("--version")
        #expect(version.status == 0)
        #expect(version.stdout == "0.1.0\n")
        // `--version` alone is answered before the argument parser is built; any other form goes
        // through ArgumentParser, which must give the same answer.
        let parsed = try runner.run("--version", "--version")
        #expect(parsed.status == 0)
        #expect(parsed.stdout == version.stdout)
        let help = try runner.run("validate", "--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("stripe-secrets validate --skip-values"))
        let bad = try runner.run("validate", "--bogus")
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("Unknown option '--bogus'"))
    }
}
