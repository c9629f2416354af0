import SecretsCore
import Foundation
import SecretsModel
/// Where the user said the state is: a file path, or a PostgreSQL database and workspace.
public enum StateLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case postgres(PostgresLocation, workspace: String)

    /// The workspace when none is named.
    public static let defaultWorkspace = "default"

    /// From `--state` (else `STRIPE_SECRETS_STATE`, else the file beside `manifest`) and
    /// `--workspace` (else `STRIPE_SECRETS_WORKSPACE`, else `default`). A workspace flag with a
    /// file state is an error; the variable is ignored there, so one environment can serve both.
    public static func resolve(
        state flag: String?, workspace workspaceFlag: String?, manifest: String, environment: [String: String]
    ) throws(StateLocationError) -> StateLocation {
        let variable = environment["STRIPE_SECRETS_STATE"].flatMap { $0.isEmpty ? nil : $0 }
        let (text, source) = flag.map { ($0, "--state") } ?? variable.map { ($0, "STRIPE_SECRETS_STATE") } ?? ("", "")
        // Something meant as a URL but not written as one is never taken for a path and echoed:
        // it may hold a password.
        let lowered = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if !PostgresLocation.isPostgresURL(text),
            lowered.hasPrefix("postgres:") || lowered.hasPrefix("postgresql:") || lowered.hasPrefix("pg:")
                || lowered.contains("://")
        {
            throw StateLocationError(
                "\(source) looks like a URL but is not one of the form postgres://USER@HOST:PORT/DATABASE "
                    + "(no spaces around it); a state file's path must not look like a URL")
        }
        guard !text.isEmpty, PostgresLocation.isPostgresURL(text) else {
            if workspaceFlag != nil {
                throw StateLocationError("--workspace names a state in a PostgreSQL database; this state is a file")
            }
            let path = text.isEmpty ? FileStateBackend.defaultPath(forManifest: manifest) : text
            for companion in [".backup", ".lock", ".journal"] where path.hasSuffix(companion) {
                throw StateLocationError(
                    "\(source.isEmpty ? "the state" : source) names \(TerminalText.safe(path)), the \(companion.dropFirst()) "
                        + "of another state, not a state; to restore a backup, state push it")
            }
            return .file(path)
        }
        let location: PostgresLocation
        do {
            location = try PostgresLocation(parsing: text, source: source, environment: environment)
        } catch {
            throw StateLocationError(error.description)
        }
        let workspaceVariable = environment["STRIPE_SECRETS_WORKSPACE"].flatMap { $0.isEmpty ? nil : $0 }
        let (workspace, workspaceSource) =
            workspaceFlag.map { ($0, "--workspace") } ?? workspaceVariable.map { ($0, "STRIPE_SECRETS_WORKSPACE") }
            ?? (defaultWorkspace, "")
        guard PostgresStateBackend.isValidWorkspace(workspace) else {
            throw StateLocationError(
                "\(workspaceSource) must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
        return .postgres(location, workspace: workspace)
    }

    /// How plan files and messages name it (never with a password).
    public var description: String {
        switch self {
        case .file(let path): path
        case .postgres(let location, let workspace): "\(location) (workspace \(workspace))"
        }
    }

    /// The backend for this location. A PostgreSQL password is looked up now (URL, then
    /// `PGPASSWORD`, then the passfile); `warn` receives any passfile warning, once.
    public func open(
        environment: [String: String], homeDirectory: String?, keptApartKey: StateDocument.KeptApartKey? = nil,
        warn: (String) -> Void
    ) throws -> any StateBackend {
        switch self {
        case .file(let path):
            return FileStateBackend(path: path, keptApartKey: keptApartKey)
        case .postgres(let location, let workspace):
            let password = location.password(environment: environment, homeDirectory: homeDirectory)
            if let warning = password.warning { warn(warning) }
            return try PostgresStateBackend(
                location: location, workspace: workspace, password: password.password,
                passwordOrigin: password.description, keptApartKey: keptApartKey)
        }
    }
}

/// A `--state` or `--workspace` that cannot be used.
public struct StateLocationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
