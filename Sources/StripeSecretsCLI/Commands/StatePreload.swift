import Foundation
import SecretsCore
import StateStorage

/// The state, opened and read on another thread while `plan` checks the manifest: reading it
/// needs nothing from the manifest, and the two together are most of a plan's time (a database
/// state is mostly waiting for the server).
///
/// Speculative, so it changes nothing a run shows: it prints nothing and creates no state, and
/// it is used only when the run reaches the state and resolves the same one; a run that fails
/// first (a manifest with problems, a bad flag) reports exactly what it did before. The plan is
/// of the state as it was when the run began, and says an apply was running if its journal was
/// there then (`StateRead`). Connecting to a PostgreSQL state creates the `stripe_secrets`
/// schema where it is missing, now even for a run whose manifest then fails. Not started for a
/// fingerprint key kept apart from the state (the key is read and checked, with its own errors,
/// only after the manifest).
final class StatePreload: @unchecked Sendable {
    private struct Opened: Sendable {
        let backend: any StateBackend
        /// What opening it would have printed as warnings.
        let warnings: [String]
        let read: Result<StateRead, any Error>
    }

    private let location: StateLocation
    private let opened: Task<Opened?, Never>
    /// Whether `take` or `discard` was called: the backend has one owner. Guarded by `lock`.
    private var claimed = false
    private let lock = NSLock()

    private init(location: StateLocation, opened: Task<Opened?, Never>) {
        self.location = location
        self.opened = opened
    }

    /// Starts reading the state that `options` name for the manifest at `manifest`; nil when
    /// they name none yet (an error the run reports later) or keep the key apart.
    static func start(_ options: StateOptions, manifest: String) -> StatePreload? {
        guard !options.namesKeptApartKey, let location = try? options.location(manifest: manifest) else { return nil }
        let environment = Environment.process.values
        let homeDirectory = Console.homeDirectory
        let opened = Task<Opened?, Never> {
            var warnings: [String] = []
            guard
                let backend = try? location.open(
                    environment: environment, homeDirectory: homeDirectory, warn: { warnings.append($0) })
            else { return nil }
            let read: Result<StateRead, any Error>
            do {
                read = .success(try await StateRead(backend))
            } catch {
                read = .failure(error)
            }
            return Opened(backend: backend, warnings: warnings, read: read)
        }
        return StatePreload(location: location, opened: opened)
    }

    /// The backend and what it held, for `target` when it is the state read here; its warnings
    /// are printed now, where opening it would have printed them. Otherwise nil, and what was
    /// opened is closed: also when reading it failed, so that an error (a server starting up, a
    /// file being replaced) comes from a read made now, never from the early one.
    func take(for target: StateTarget) async -> (backend: any StateBackend, read: StateRead)? {
        guard claim(), let opened = await opened.value else { return nil }
        guard target.location == location, target.keptApartKey == nil, case .success(let read) = opened.read else {
            await opened.backend.close()
            return nil
        }
        for warning in opened.warnings { Console.printError("warning: \(warning)") }
        return (opened.backend, read)
    }

    /// Waits until the state was read, without taking it (for tests).
    func waitUntilRead() async {
        _ = await opened.value
    }

    /// Closes what was opened, for a run that stops before reading the state. Not waited for:
    /// a server that does not answer must not hold up the run's own error.
    func discard() {
        guard claim() else { return }
        let opened = opened
        Task { await opened.value?.backend.close() }
    }

    /// True for the first caller only.
    private func claim() -> Bool {
        lock.withLock {
            defer { claimed = true }
            return !claimed
        }
    }
}

/// What a state held when it was read: the state with any journal folded in (nil when there is
/// none yet), and whether a journal was there, read right after it (two reads, as before the
/// read-ahead), so a plan's note about a running apply is of the same moment as the state.
struct StateRead: Sendable {
    let found: State?
    let hasJournal: Bool

    init(_ backend: any StateBackend) async throws {
        found = try await backend.load()
        hasJournal = try await backend.hasJournal()
    }
}
