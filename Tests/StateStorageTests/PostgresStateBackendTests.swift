import Foundation
import SecretsCore
import SecretsModel
import Testing
import TestSupport
@testable import StateStorage

/// What only the PostgreSQL backend does: its schema, privileges, logins and compare-and-swap
/// without the lock. What every backend does is in `StateBackendContractTests`.
@Suite(
    .disabled(
        if: PostgresCluster.skipReason != nil,
        "PostgreSQL server binaries not found: install Debian's postgresql package, or set STRIPE_SECRETS_PG_BIN"))
struct PostgresStateBackendTests {
    private func freshDatabase(_ cluster: PostgresCluster) throws -> String {
        let name = "unit_" + UUID().uuidString.prefix(8).lowercased()
        try cluster.createDatabase(name)
        return name
    }

    @Test func theDocumentedSchemaIsTheToolsOwnMigration() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/state-backends.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "```sql\nBEGIN;\n"))
        let end = try #require(text.range(of: "COMMIT;\n```", range: start.upperBound..<text.endIndex))
        #expect(String(text[start.lowerBound..<end.upperBound]).dropFirst(7).dropLast(3) == PostgresSchema.script[...])
    }

    @Test func aDatabaseOfANewerToolIsRefusedAndNeverAltered() async throws {
        let cluster = try PostgresCluster.shared.get()
        let database = try freshDatabase(cluster)
        _ = try cluster.psql(
            PostgresSchema.script + "INSERT INTO stripe_secrets.schema_version VALUES (99);", database: database)
        // pg_dump marks each dump with a random \restrict key; the rest must not change.
        func contents() throws -> [Substring] {
            try cluster.dump(database: database).split(separator: "\n").filter { !$0.contains("restrict ") }
        }
        let before = try contents()
        let backend = try BackendFixture.postgresBackend(cluster, database: database, workspace: "default")
        await #expect {
            _ = try await backend.loadOrCreate(lockTimeout: 0)
        } throws: { error in
            (error as? PostgresStateError)?.description.hasSuffix(
                "are at version 99, written by a newer stripe-secrets; this one knows version 1. Upgrade stripe-secrets"
            ) == true
        }
        await backend.close()
        #expect(try contents() == before)
    }

    @Test func aUserWithoutCreateRightsWorksOnceADBACreatedTheSchema() async throws {
        let cluster = try PostgresCluster.shared.get()
        let database = try freshDatabase(cluster)
        let user = "deploy_" + UUID().uuidString.prefix(6).lowercased()
        try cluster.createRole(user, password: "canary-role-password")
        _ = try cluster.psql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database: database)

        let early = try BackendFixture.postgresBackend(
            cluster, database: database, workspace: "default", user: user, password: "canary-role-password")
        await #expect {
            _ = try await early.load()
        } throws: { error in
            let text = "\(error)"
            return text.contains("permission denied for database \(database)") && !text.contains("canary")
        }
        await early.close()

        _ = try cluster.psql(PostgresSchema.script, database: database)
        _ = try cluster.psql(
            """
            GRANT USAGE ON SCHEMA stripe_secrets TO \(user);
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA stripe_secrets TO \(user);
            """, database: database)
        let backend = try BackendFixture.postgresBackend(
            cluster, database: database, workspace: "default", user: user, password: "canary-role-password")
        let state = try await backend.loadOrCreate(lockTimeout: 0)
        try await backend.withLock(operation: "apply", timeout: 0) { locked in
            let address = SecretAddress(account: nil, scope: .account, name: "token")
            let run = journalRun([plannedChange(.create, at: address, key: state.fingerprintKey)], on: state)
            let journal = try await locked.startJournal(run.header)
            try await journal.append(run.entries[0])
            try await locked.recoverJournal()
        }
        #expect(try await backend.load()?.serial == 1)
        await backend.close()
    }

    @Test func aWrongPasswordIsALoginErrorThatNeverShowsThePassword() async throws {
        let cluster = try PostgresCluster.shared.get()
        let backend = try BackendFixture.postgresBackend(
            cluster, database: "postgres", workspace: "default", password: "canary-wrong-password")
        await #expect {
            _ = try await backend.load()
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(
                "PostgreSQL at postgres://postgres@127.0.0.1:\(cluster.port)/postgres refused the login: ")
                && !text.contains("canary")
        }
        await backend.close()
    }

    @Test func aWriterThatBypassedTheLockStillCannotOverwriteANewerState() async throws {
        let cluster = try PostgresCluster.shared.get()
        let database = try ContractDatabase.name.get()
        let workspace = "race-" + UUID().uuidString.prefix(8).lowercased()
        let backends = try (0..<4).map { _ in
            try BackendFixture.postgresBackend(cluster, database: database, workspace: workspace)
        }
        let first = try await backends[0].loadOrCreate(lockTimeout: 0)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for (index, backend) in backends.enumerated() {
                group.addTask {
                    var next = first
                    next.serial = 1
                    next.mode = index.isMultiple(of: 2) ? .test : .live
                    return (try? await PostgresStateBackend.Locked(backend: backend).save(next, replacing: 0)) != nil
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await backends[0].load()?.serial == 1)
        for backend in backends { await backend.close() }
    }

    @Test func anSSLRootCertificateThatIsAFIFOOrMissingIsAClearErrorAtOnce() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.path + "/ca.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, expected) in [(fifo, "is not a regular file"), (folder.path + "/none.pem", "does not exist")] {
            let location = try PostgresLocation(
                parsing: "postgres://app@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=\(path)", source: "--state",
                environment: [:])
            #expect {
                _ = try PostgresStateBackend(location: location, workspace: "default", password: nil)
            } throws: { error in
                "\(error)".contains("sslrootcert") && "\(error)".contains(expected)
            }
        }
    }

    @Test func tlsVerifiesTheCertificateAndTheHostNameAsAsked() async throws {
        let cluster = try PostgresCluster.start(tls: true)
        let authority = try #require(cluster.certificateAuthority)
        func load(_ host: String, _ parameters: String) async throws -> State? {
            let location = try PostgresLocation(
                parsing: "postgres://postgres@\(host):\(cluster.port)/postgres?\(parameters)", source: "--state",
                environment: [:])
            let backend = try PostgresStateBackend(
                location: location, workspace: "tls", password: cluster.password, queryTimeout: 10)
            defer { Task { await backend.close() } }
            return try await backend.load()
        }
        // The certificate is for localhost, signed by the cluster's own CA.
        #expect(try await load("localhost", "sslmode=verify-full&sslrootcert=\(authority)") == nil)
        #expect(try await load("127.0.0.1", "sslmode=require") == nil)
        for (host, parameters) in [
            ("localhost", "sslmode=verify-full"),  // the system's CAs do not know it
            ("127.0.0.1", "sslmode=verify-full&sslrootcert=\(authority)"),  // not the name on it
        ] {
            await #expect {
                _ = try await load(host, parameters)
            } throws: { error in
                "\(error)".hasPrefix(
                    "cannot reach PostgreSQL at postgres://postgres@\(host):\(cluster.port)/postgres: ")
            }
        }
    }
}
