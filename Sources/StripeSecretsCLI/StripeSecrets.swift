import ArgumentParser
import SecretsCore

/// The `stripe-secrets` command: the root that every subcommand hangs off.
public struct StripeSecrets: AsyncParsableCommand {

    public static let configuration = CommandConfiguration(
        commandName: "stripe-secrets",
        abstract: "Manage the Stripe Apps Secret Store declaratively, from a reviewed YAML manifest.",
        discussion: """
            The manifest (secrets.yaml) says which secrets should exist; values come from \
            environment variables or files and are never written in it.

            Examples:
              stripe-secrets validate
              stripe-secrets plan --out plan.json
              stripe-secrets show plan.json --format markdown
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
        let command: any AsyncParsableCommand.Type = StripeSecrets.self
        await command.main()
    }
}
