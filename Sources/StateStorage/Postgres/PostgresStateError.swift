import NIOCore
import NIOPosix
import PostgresNIO
import SecretsModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a PostgreSQL state could not be used. Every message names PostgreSQL and the database
/// (never a password) and says what to do.
public enum PostgresStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No connection: refused, no route, name not found, TLS failure.
    case unreachable(database: String, reason: String)
    /// The server refused the login.
    case loginRefused(database: String, reason: String)
    /// No answer in time.
    case timedOut(database: String, doing: String, seconds: Int)
    /// The connection ended mid-command; the lock went with it.
    case connectionLost(database: String)
    /// The server answered with an error.
    case server(database: String, doing: String, message: String)
    /// Tables of a newer stripe-secrets.
    case newerSchema(database: String, version: Int)

    public var description: String {
        switch self {
        case .unreachable(let database, let reason):
            "cannot reach PostgreSQL at \(database): \(reason). Check the host and port in --state "
                + "(or STRIPE_SECRETS_STATE) and that the server accepts TCP connections from here"
        case .loginRefused(let database, let reason):
            "PostgreSQL at \(database) refused the login: \(reason). Check the user in the URL and the "
                + "password in PGPASSWORD or the passfile (PGPASSFILE, ~/.pgpass)"
        case .timedOut(let database, let doing, let seconds):
            "PostgreSQL at \(database) did not answer within \(seconds) s while \(doing); "
                + "nothing more was written. Check the server, then run the command again"
        case .connectionLost(let database):
            "the connection to PostgreSQL at \(database) was lost; what completed before is recorded, "
                + "and running the command again finishes the rest"
        case .server(let database, let doing, let message):
            "PostgreSQL at \(database) refused \(doing): \(TerminalText.safe(message))"
        case .newerSchema(let database, let version):
            "the stripe_secrets tables in PostgreSQL at \(database) are at version \(version), written by a "
                + "newer stripe-secrets; this one knows version \(PostgresSchema.version). Upgrade stripe-secrets"
        }
    }

    /// `error`, thrown by PostgresNIO while `doing` something, in our words.
    static func from(_ error: any Error, database: String, doing: String) -> PostgresStateError {
        if let error = error as? PostgresStateError { return error }
        if let error = error as? PostgresTransactionError {
            let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            return inner.map { from($0, database: database, doing: doing) }
                ?? .server(database: database, doing: doing, message: "the transaction failed")
        }
        guard let error = error as? PSQLError else {
            return .unreachable(database: database, reason: networkReason(error))
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "an error without a message"
            if state.hasPrefix("28") || state == "3D000" {
                return .loginRefused(database: database, reason: message)
            }
            return .server(database: database, doing: doing, message: "\(message) (SQLSTATE \(state))")
        case .authMechanismRequiresPassword:
            return .loginRefused(database: database, reason: "it asks for a password and none was given")
        case .unsupportedAuthMechanism, .saslError:
            return .loginRefused(database: database, reason: "its authentication method is not supported")
        case .sslUnsupported:
            return .unreachable(
                database: database,
                reason: "the server does not support TLS (use ?sslmode=disable only on a trusted network)")
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return .connectionLost(database: database)
        case .connectionError:
            return .unreachable(database: database, reason: error.underlying.map(networkReason) ?? "connection failed")
        default:
            return .server(database: database, doing: doing, message: "\(error.code)")
        }
    }

    /// A network or TLS failure in a few words.
    private static func networkReason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError {
            if let failure = error.connectionErrors.first { return networkReason(failure.error) }
            if error.dnsAAAAError != nil || error.dnsAError != nil { return "the host name does not resolve" }
            return "connection failed"
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return "connecting timed out" }
        let text = String(describing: error)
        if text.contains("certificate") || text.contains("handshake") || text.contains("SSL") {
            return "TLS failed (\(text.prefix(200)))"
        }
        return String(text.prefix(200))
    }
}
