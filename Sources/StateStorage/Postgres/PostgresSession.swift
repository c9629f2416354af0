import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import SecretsCore

/// The one connection a command uses, opened on first use and never reopened: a lock taken on
/// it ends with it, so work after a lost connection fails instead of running unlocked.
///
/// Every call has a deadline. When it passes, the connection is closed (which fails whatever
/// was waiting on it), so a hung server is an error in bounded time, never a hang.
actor PostgresSession {
    private let configuration: PostgresConnection.Configuration
    /// `postgres://user@host:port/db`, for messages.
    let database: String
    private let connectTimeout: Int
    private let queryTimeout: Int
    /// Where the password came from (`a password from PGPASSWORD`, `no password`), for login errors.
    private let passwordOrigin: String
    private var connecting: Task<PostgresConnection, any Error>?
    /// The connection once open, so that it is closed even when `close` is never called.
    private var opened: PostgresConnection?
    private let logger = Logger(label: "stripe-secrets.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(location: PostgresLocation, password: String?, passwordOrigin: String, queryTimeout: Int)
        throws(PostgresStateError)
    {
        database = location.description
        self.passwordOrigin = passwordOrigin
        connectTimeout = location.connectTimeout ?? 10
        self.queryTimeout = queryTimeout
        let tls: PostgresConnection.Configuration.TLS
        switch location.sslMode {
        case .disable:
            tls = .disable
        case .require, .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            if location.sslMode == .require {
                settings.certificateVerification = .none
            } else {
                settings.certificateVerification = .fullVerification
            }
            if let roots = location.sslRootCertificate {
                settings.trustRoots = .certificates(try Self.certificates(at: roots, database: location.description))
            }
            do {
                tls = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw .unreachable(database: location.description, reason: "cannot set up TLS (\(error))")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: tls)
        // The client's own deadline (`connection()`) bounds connecting at connect_timeout and names
        // what hung; the driver's timeout is a second later, so that the two never race.
        configuration.options.connectTimeout = .seconds(Int64(connectTimeout) + 1)
        // A host name is sent (SNI) and checked against the certificate; an IP address cannot be
        // sent, and is checked against the certificate's IP addresses instead.
        configuration.options.tlsServerName =
            location.sslMode == .verifyFull && !Self.isIPAddress(location.host) ? location.host : nil
        // The server ends a statement that runs too long, and notices a runner that vanished
        // without closing its connection (so its lock is freed) within about a minute.
        configuration.options.additionalStartupParameters = [
            ("application_name", "stripe-secrets"),
            ("statement_timeout", "\(queryTimeout * 1000)"),
            ("idle_in_transaction_session_timeout", "\(queryTimeout * 2000)"),
            ("tcp_keepalives_idle", "20"), ("tcp_keepalives_interval", "10"), ("tcp_keepalives_count", "3"),
            ("synchronous_commit", "on"),
        ]
        self.configuration = configuration
    }

    /// Runs `body` on the connection within the query deadline; `doing` names the work in errors.
    func run<Result: Sendable>(
        _ doing: String, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Result
    ) async throws(PostgresStateError) -> Result {
        let connection = try await connection()
        let logger = logger
        do {
            return try await Self.withDeadline(seconds: queryTimeout, onTimeout: { try? await connection.close() }) {
                try await body(connection, logger)
            }
        } catch let error as DeadlinePassed {
            _ = error
            throw .timedOut(database: database, doing: doing, seconds: queryTimeout)
        } catch {
            throw naming(PostgresStateError.from(error, database: database, doing: doing))
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// A refused login, saying which password was tried (never the password).
    private func naming(_ error: PostgresStateError) -> PostgresStateError {
        guard case .loginRefused(let database, let reason) = error else { return error }
        return .loginRefused(database: database, reason: "\(reason) (with \(passwordOrigin))")
    }

    /// The CA certificates of `sslrootcert`: a regular file of PEM certificates, read without
    /// blocking on a FIFO.
    private static func certificates(at path: String, database: String) throws(PostgresStateError)
        -> [NIOSSLCertificate]
    {
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: path, maxBytes: 1 << 20)
        } catch {
            throw .unreachable(
                database: database,
                reason: "sslrootcert "
                    + error.describe(
                        path, notFoundHint: "give the path of a PEM file of CA certificates",
                        limit: "too large for CA certificates"))
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes), !certificates.isEmpty else {
            throw .unreachable(database: database, reason: "sslrootcert \(path) holds no PEM certificate")
        }
        return certificates
    }

    /// Closes the connection, if one was opened.
    func close() async {
        guard let connecting else { return }
        if let connection = try? await connecting.value { try? await connection.close() }
    }

    deinit {
        opened?.close().whenComplete { _ in }
    }

    private func connection() async throws(PostgresStateError) -> PostgresConnection {
        if connecting == nil {
            let configuration = configuration
            let logger = logger
            let seconds = connectTimeout
            let database = database
            connecting = Task {
                let connection = try await Self.withDeadline(seconds: seconds, onTimeout: {}) {
                    try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                }
                do {
                    // Checking the tables is part of connecting: one connect_timeout bounds each.
                    try await Self.withDeadline(seconds: seconds, onTimeout: { try? await connection.close() }) {
                        try await PostgresMigrator.prepare(connection, database: database, logger: logger)
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                return connection
            }
        }
        guard let connecting else { throw .connectionLost(database: database) }
        let connection: PostgresConnection
        do {
            connection = try await connecting.value
        } catch let error as DeadlinePassed {
            throw .timedOut(database: database, doing: "connecting", seconds: error.seconds)
        } catch {
            throw naming(
                PostgresStateError.from(error, database: database, doing: "preparing the stripe_secrets tables"))
        }
        opened = connection
        guard !connection.isClosed else { throw .connectionLost(database: database) }
        return connection
    }

    /// Thrown when a deadline of `seconds` passes first.
    struct DeadlinePassed: Error {
        let seconds: Int
    }

    /// `body`, or `DeadlinePassed` after `seconds`, whichever comes first, then `onTimeout` (to
    /// close the connection). It returns at the deadline even when `body` ignores cancellation (a
    /// query on a silent server does): `body` is left to fail once its connection is closed.
    private static func withDeadline<Result: Sendable>(
        seconds: Int, onTimeout: @escaping @Sendable () async -> Void,
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let outcome = FirstOutcome<Result>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.wait(with: continuation)
            let work = Task {
                do {
                    outcome.settle(.success(try await body()))
                } catch {
                    outcome.settle(.failure(error))
                }
            }
            let timer = Task {
                try await Task.sleep(for: .seconds(seconds))
                if outcome.settle(.failure(DeadlinePassed(seconds: seconds))) {
                    work.cancel()
                    await onTimeout()
                }
            }
            outcome.whenSettled { timer.cancel() }
        }
    }
}

/// The first of two outcomes, passed to the one waiting for it; later ones are dropped.
private final class FirstOutcome<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var settled = false
    private var waiterStorage: CheckedContinuation<Value, any Error>?
    private var onSettledStorage: (@Sendable () -> Void)?

    /// Who gets the outcome; set before anything can settle it.
    func wait(with waiter: CheckedContinuation<Value, any Error>) {
        lock.withLock { waiterStorage = waiter }
    }

    /// Runs `action` once the outcome is known (at once if it already is).
    func whenSettled(_ action: @escaping @Sendable () -> Void) {
        let runNow = lock.withLock { () -> Bool in
            onSettledStorage = action
            return settled
        }
        if runNow { action() }
    }

    /// Hands `result` to the waiter if it is the first; returns whether it was.
    @discardableResult
    func settle(_ result: Result<Value, any Error>) -> Bool {
        let (waiter, done) = lock.withLock { () -> (CheckedContinuation<Value, any Error>?, (@Sendable () -> Void)?) in
            guard !settled else { return (nil, nil) }
            settled = true
            defer { waiterStorage = nil }
            return (waiterStorage, onSettledStorage)
        }
        guard let waiter else { return false }
        waiter.resume(with: result)
        done?()
        return true
    }
}

/// Creates or checks the `stripe_secrets` tables when a connection opens.
enum PostgresMigrator {
    /// Refuses a newer schema; migrates an older or missing one in one transaction, under a
    /// transaction-scoped advisory lock so two first runs do not race.
    static func prepare(_ connection: PostgresConnection, database: String, logger: Logger) async throws {
        if let version = try await currentVersion(connection, logger: logger) {
            if version > PostgresSchema.version {
                throw PostgresStateError.newerSchema(database: database, version: version)
            }
            if version == PostgresSchema.version { return }
        }
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresLockKey.migrations))", logger: logger)
            for statement in PostgresSchema.bootstrap {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            let found = try await currentVersion(connection, logger: logger) ?? 0
            guard found <= PostgresSchema.version else {
                throw PostgresStateError.newerSchema(database: database, version: found)
            }
            for migration in PostgresSchema.migrations where migration.version > found {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO stripe_secrets.schema_version (version) VALUES (\(migration.version))", logger: logger)
            }
        }
    }

    /// The schema's version; nil when the tables do not exist yet.
    private static func currentVersion(_ connection: PostgresConnection, logger: Logger) async throws -> Int? {
        let exists = try await connection.query(
            "SELECT to_regclass('stripe_secrets.schema_version') IS NOT NULL", logger: logger)
        for try await (present) in exists.decode(Bool.self) where !present { return nil }
        let rows = try await connection.query(
            "SELECT coalesce(max(version), 0) FROM stripe_secrets.schema_version", logger: logger)
        for try await (version) in rows.decode(Int.self) { return version }
        return nil
    }
}

/// Advisory lock keys: one per workspace, one for migrations. Derived from a hash so that they
/// stay clear of small keys other applications pick.
enum PostgresLockKey {
    static let migrations = key(for: "stripe-secrets schema migrations")

    static func workspace(_ name: String) -> Int64 {
        key(for: "stripe-secrets workspace \(name)")
    }

    private static func key(for text: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits: stable across runs and builds
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
