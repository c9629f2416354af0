/// The tables a PostgreSQL state lives in, all in the schema `stripe_secrets`, and the
/// migrations that create them. docs/state-backends.md prints `script` for a DBA to run ahead of
/// time (a test keeps the two the same).
public enum PostgresSchema {
    /// The schema version this build reads and writes. A database at a higher version is
    /// refused, never altered.
    public static let version = 1

    /// Statements that bring a database from version `version - 1` to `version`.
    struct Migration {
        let version: Int
        let statements: [String]
    }

    /// Always created first, before any migration: where the version is kept.
    static let bootstrap = [
        "CREATE SCHEMA IF NOT EXISTS stripe_secrets",
        """
        CREATE TABLE IF NOT EXISTS stripe_secrets.schema_version (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ]

    static let migrations = [
        Migration(
            version: 1,
            statements: [
                """
                CREATE TABLE stripe_secrets.states (
                    workspace text PRIMARY KEY,
                    lineage text NOT NULL,
                    serial bigint NOT NULL,
                    document json NOT NULL,
                    previous_document json,
                    updated_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE stripe_secrets.journals (
                    workspace text PRIMARY KEY,
                    header json NOT NULL,
                    started_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE stripe_secrets.journal_entries (
                    workspace text NOT NULL REFERENCES stripe_secrets.journals (workspace) ON DELETE CASCADE,
                    seq bigint GENERATED ALWAYS AS IDENTITY,
                    entry json NOT NULL,
                    PRIMARY KEY (workspace, seq)
                )
                """,
                """
                CREATE TABLE stripe_secrets.lock_holders (
                    workspace text PRIMARY KEY,
                    holder json NOT NULL,
                    backend_pid integer NOT NULL
                )
                """,
            ])
    ]

    /// Every statement, in one transaction, as a DBA would run it with psql.
    public static var script: String {
        var lines = ["BEGIN;"]
        lines += bootstrap.map { $0 + ";" }
        for migration in migrations {
            lines += migration.statements.map { $0 + ";" }
            lines.append("INSERT INTO stripe_secrets.schema_version (version) VALUES (\(migration.version));")
        }
        lines.append("COMMIT;")
        return lines.joined(separator: "\n") + "\n"
    }
}
