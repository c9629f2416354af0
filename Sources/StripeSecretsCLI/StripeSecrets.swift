import ArgumentParser
import CProcessGuard
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `stripe-secrets` command: the root that every subcommand hangs off.
public struct StripeSecrets: AsyncParsableCommand {

    public static let configuration = CommandConfiguration(
        commandName: "stripe-secrets",
        abstract: "Manage the Stripe Apps Secret Store declaratively, from a reviewed YAML manifest.",
        discussion: """
            The manifest (secrets.yaml) says which secrets should exist; values come from \
            environment variables or files and are never written in it.

            The usual loop, then the commands around it (each command's --help has its own \
            examples):
              stripe-secrets validate                  # the manifest and its values
              stripe-secrets plan --out plan.json      # what would change, saved
              stripe-secrets show plan.json --format markdown
              stripe-secrets apply plan.json           # exactly that plan
              stripe-secrets plan --refresh-values     # compared with Stripe too
              stripe-secrets import --all              # adopt secrets Stripe holds
              stripe-secrets state list                # what the state records
              stripe-secrets schema > manifest.schema.json
              stripe-secrets force-unlock              # a lock whose holder is gone
              stripe-secrets emulator --port 12111     # Stripe on loopback
            """,
        version: ToolVersion.current,
        subcommands: [
            ValidateCommand.self, PlanCommand.self, ApplyCommand.self, ShowCommand.self, StateCommand.self,
            ImportCommand.self, SchemaCommand.self, ForceUnlockCommand.self,
            EmulatorCommand.self,
        ]
    )

    public init() {}
}

extension StripeSecrets {
    /// Parses the process's arguments and runs the chosen subcommand (async ones included).
    public static func start() async {
        // Before anything is read: a crash must not write plaintext values to a core file.
        _ = stripe_secrets_refuse_core_dumps()
        // A pipe closed early (`| head`) is a failed write like any other, from the start: the
        // command runs to its end and exits 1 (`Console.checkOutputWasWritten`), rather than dying
        // of SIGPIPE before its first call to Stripe and not after it (the HTTP client ignores
        // SIGPIPE once it connects).
        signal(SIGPIPE, SIG_IGN)
        // `--version` alone is answered before the argument parser exists: building it walks the
        // type metadata of every command and option, several times the cost of the rest of the
        // process's start. The answer is the same one ArgumentParser gives.
        if CommandLine.arguments.dropFirst().elementsEqual(["--version"]) {
            Console.printLine(ToolVersion.current)
            Console.checkOutputWasWritten()
            return
        }
        // ArgumentParser's `main`, with the check that stdout was written before the exit.
        do {
            var command = try await asyncParseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            finish(with: error)
        }
        Console.checkOutputWasWritten()
    }

    /// ArgumentParser's `exit(withError:)`, with its help and messages written through `Console`,
    /// so that help that cannot be written fails the run too.
    private static func finish(with error: any Error) -> Never {
        let text = fullMessage(for: error)
        let code = exitCode(for: error)
        if !text.isEmpty {
            if code == .success { Console.printLine(text) } else { Console.printError(text) }
        }
        Console.checkOutputWasWritten()
        Console.terminate(code)
    }
}
