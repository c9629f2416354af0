import ArgumentParser
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension StripeSecrets {
    /// `force-unlock`: clears a lock whose holder this machine cannot see.
    struct ForceUnlock: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "force-unlock",
            abstract: "Remove a state lock left by a process that is gone.",
            discussion: """
                The lock is an OS lock that ends with its process, so a crash on this machine \
                never leaves one behind. This is for a holder this machine cannot see (another \
                host or container sharing the folder). A holder that is still running here is \
                never broken: stop it instead.

                Example:
                  stripe-secrets force-unlock --state prod.state.json
                """
        )

        @OptionGroup var manifestOptions: ManifestOptions
        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            let store = stateOptions.store(manifest: manifestOptions.file)
            let (held, holder) = StateLock.holder(of: store)
            guard held else {
                print("\(store.path) is not locked.")
                return
            }
            guard let holder else {
                throw Console.fail(
                    "\(store.path) is locked by a process that has not written who it is (it may be starting or "
                        + "finishing); try again in a moment")
            }
            if holder.host == LockHolder.hostName, kill(holder.pid, 0) == 0 || errno == EPERM {
                throw Console.fail(
                    "\(store.path) is locked by \(holder.description), which is still running; "
                        + "stop it (kill \(holder.pid)) and its lock ends with it")
            }
            guard unlink(store.lockPath) == 0 else {
                throw Console.fail("cannot remove \(store.lockPath): \(FileReader.message(errno))")
            }
            print(
                "Removed the lock on \(store.path) held by \(holder). Make sure that process no longer writes the state."
            )
        }
    }
}
