import ArgumentParser
import SecretsCore

extension StripeSecrets {
    /// `schema`: prints the manifest's JSON Schema, for editors that complete and check YAML.
    struct SchemaCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema",
            abstract: "Print the manifest's JSON Schema, for editor completion and checks.",
            discussion: """
                Prints the JSON Schema (draft 2020-12) of manifest schema version 1. Editors \
                that use yaml-language-server (VS Code's YAML extension, and others) then \
                complete keys and flag mistakes in secrets.yaml as you type. The schema checks \
                structure only; validate also checks duplicates, the 10 secrets per scope, \
                expiry dates and values.

                Example:
                  stripe-secrets schema > .stripe-secrets.schema.json
                  # and as the first line of secrets.yaml:
                  # yaml-language-server: $schema=.stripe-secrets.schema.json
                """
        )

        func run() {
            Console.writeOut(ManifestSchema.text)
        }
    }
}
