import SecretsCore

/// A manifest checked on another thread before the run needs it: `apply` without a plan file,
/// once it holds the lock, reads the state (and folds any journal) meanwhile. Its problems are
/// printed when it is taken, where checking it then would have printed them; a run that stops
/// before (a state of the other mode) never shows them, as before.
struct ManifestCheckAhead: Sendable {
    private let checked: Task<Result<CheckedManifest, DiagnosticsError>, Never>

    /// Starts checking the manifest at `path` and reading its values as `values` says.
    init(path: String, values: ValueReading) {
        let now = Console.now
        checked = Task {
            do throws(DiagnosticsError) {
                return .success(try ManifestLoader.check(path: path, now: now, environment: .process, values: values))
            } catch {
                return .failure(error)
            }
        }
    }

    /// The checked manifest, or its problems printed and exit 1 (as `Console.check`). Consumed,
    /// so the task's copy (the manifest's text, plaintext values) goes with the caller's.
    consuming func take() async throws -> CheckedManifest {
        switch await checked.value {
        case .success(let manifest): manifest
        case .failure(let problems): throw Console.fail(problems)
        }
    }
}
