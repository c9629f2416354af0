import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A test hook for the crash campaign (`scripts/crash-campaign.sh`), compiled into debug builds
/// only: `STRIPE_SECRETS_TEST_CRASH_AT=NAME` (or `NAME:N`, the Nth time) kills the process with
/// SIGKILL at the named point of a state write, where a kill at a random moment rarely lands.
/// In a release build `reach()` is empty and the variable is never read.
public enum CrashPoint: String, Sendable, CaseIterable {
    /// An apply's journal entry is durable; the call is not yet reported.
    case journalAppended = "journal-appended"
    /// Every call is journalled; the journal is not yet folded into the state.
    case beforeFold = "before-fold"
    /// A file state's new version is durable at its temporary name and the backup is kept; the
    /// rename over the state has not happened.
    case beforeRename = "before-rename"
    /// The rename has happened; the folder is not yet synced.
    case afterRename = "after-rename"
    /// A file state's folded version is saved; its journal is not yet removed.
    case folded
    /// A database state's fold is written in its transaction, not yet committed.
    case foldUncommitted = "fold-uncommitted"

    /// Kills the process here if the hook names this point (debug builds only).
    public func reach() {
        #if DEBUG
            CrashHook.shared.reach(self)
        #endif
    }
}

#if DEBUG
    /// The armed point, read once from the environment, and how often it was reached.
    private final class CrashHook: @unchecked Sendable {
        static let shared = CrashHook()

        private let point: CrashPoint?
        private let nth: Int
        private let lock = NSLock()
        private var reached = 0

        private init() {
            let spec = ProcessInfo.processInfo.environment["STRIPE_SECRETS_TEST_CRASH_AT"] ?? ""
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            point = parts.first.flatMap(CrashPoint.init(rawValue:))
            nth = parts.count > 1 ? max(1, Int(parts[1]) ?? 1) : 1
        }

        func reach(_ point: CrashPoint) {
            guard point == self.point else { return }
            let count = lock.withLock {
                reached += 1
                return reached
            }
            if count == nth { kill(getpid(), SIGKILL) }
        }
    }
#endif
