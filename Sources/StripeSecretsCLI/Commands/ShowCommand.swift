import ArgumentParser
import SecretsCore

extension StripeSecrets {
    /// `show PLANFILE`: prints a saved plan.
    struct ShowCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print a saved plan file.",
            discussion: """
                Examples:
                  stripe-secrets show plan.json
                  stripe-secrets show plan.json --format markdown
                """
        )

        @Argument(help: ArgumentHelp("A plan file written by plan --out.", valueName: "planfile"))
        var planFile: String

        @Option(help: "text, json or markdown.")
        var format: PlanFormat = .text

        func run() throws {
            let saved = try Console.reportingErrors { try SavedPlan.load(planFile) }
            let title = "plan file \(planFile), made \(Timestamp.format(saved.createdAt))"
            Console.streamOut { PlanRendering.render(saved, format: format, title: title, planFile: planFile, to: &$0) }
        }
    }
}
