import ArgumentParser
import SecretsCore

extension StripeSecrets {
    /// `validate`: checks the manifest and, unless told not to, that every value resolves.
    struct ValidateCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a manifest and that every value can be read.",
            discussion: """
                Prints a one-line summary and exits 0, or prints every problem (file:line:col) \
                on stderr and exits 1. Values are read but never printed.

                Examples:
                  stripe-secrets validate
                  stripe-secrets validate -f deploy/secrets.yaml
                  stripe-secrets validate --skip-values    # in a pull request without values
                """
        )

        @OptionGroup var manifestOptions: ManifestOptions

        @Flag(help: "Check the structure only; do not read environment variables or files.")
        var skipValues = false

        func run() throws {
            let path = manifestOptions.file
            let manifest = try Console.check(path, values: skipValues ? .skip : .required).manifest
            let valuesNote = skipValues ? "values not checked (--skip-values)" : "all values resolved"
            let (scopes, accounts) = manifest.footprint
            let count = manifest.secrets.count
            Console.printLine(
                "\(path): \(count.counted("secret")) in \(scopes.counted("scope")) "
                    + "across \(accounts.counted("account")); \(valuesNote)")
        }
    }
}
