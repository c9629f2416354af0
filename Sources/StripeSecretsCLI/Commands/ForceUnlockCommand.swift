import ArgumentParser
import SecretsCore
import StateStorage

extension StripeSecrets {
    /// `force-unlock`: clears a lock whose holder is gone, or says why it cannot.
    struct ForceUnlockCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "force-unlock",
            abstract: "Remove a state lock left by a process that is gone.",
            discussion: """
                A state file's lock is an OS lock that ends with its process, so a crash on this \
                machine never leaves one behind. This is for a holder this machine cannot see \
                (another host or container sharing the folder). A holder that is still running \
                here is never broken: stop it instead.

                A PostgreSQL state's lock belongs to the holder's database session and ends with \
                it, so there is never a stale one to remove; force-unlock names the session and \
                says how to end it if it hangs.

                Example:
                  stripe-secrets force-unlock --state prod.state.json
                """
        )

        @OptionGroup var manifestOptions: ManifestOptions
        @OptionGroup var stateOptions: StateOptions

        func run() async throws {
            let location = try stateOptions.resolve(manifest: manifestOptions.file)
            let message = try await location.using { try await $0.forceUnlock() }
            Console.printLine(message)
        }
    }
}
