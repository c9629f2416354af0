import Foundation
import Testing
import TestSupport

@testable import StateStorage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The password every URL below carries, so any message or description showing it is caught.
private let canaryPassword = "hunter2"

private func parse(
    _ text: String, source: String = "--state", environment: [String: String] = ["USER": "me"]
) throws(PostgresLocationError) -> PostgresLocation {
    try PostgresLocation(parsing: text, source: source, environment: environment)
}

/// What a valid URL parses to.
struct ParsedURL: Sendable {
    let host: String
    var port = 5432
    var user = "app"
    var database = "secrets"
    let sslMode: PostgresLocation.SSLMode
    var sslRootCertificate: String?
    var connectTimeout: Int?
    let description: String
}

@Suite struct PostgresLocationParsingTests {
    @Test(arguments: ["postgres://app@db.internal/secrets", "postgresql://db", "POSTGRES://db", "PostgreSQL://db"])
    func recognisesBothSchemesInAnyCase(text: String) {
        #expect(PostgresLocation.isPostgresURL(text))
    }

    @Test(arguments: ["secrets.state.json", "/var/lib/postgres://x", "postgres:/db", "http://db/x", "postgre://db", ""])
    func recognisesNothingElse(text: String) {
        #expect(!PostgresLocation.isPostgresURL(text))
    }

    @Test(arguments: [
        (
            "postgres://app@db.internal:5433/secrets",
            ParsedURL(
                host: "db.internal", port: 5433, sslMode: .verifyFull,
                description: "postgres://app@db.internal:5433/secrets")
        ),
        (
            "postgresql://app@db.internal/secrets",
            ParsedURL(host: "db.internal", sslMode: .verifyFull, description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "POSTGRES://app@localhost/secrets",
            ParsedURL(host: "localhost", sslMode: .disable, description: "postgres://app@localhost:5432/secrets")
        ),
        (
            "postgres://app@LocalHost/secrets",
            ParsedURL(host: "LocalHost", sslMode: .disable, description: "postgres://app@LocalHost:5432/secrets")
        ),
        (
            "postgres://app@127.0.0.1:6543/secrets",
            ParsedURL(
                host: "127.0.0.1", port: 6543, sslMode: .disable, description: "postgres://app@127.0.0.1:6543/secrets")
        ),
        (
            "postgres://app@127.10.20.30/secrets",
            ParsedURL(host: "127.10.20.30", sslMode: .disable, description: "postgres://app@127.10.20.30:5432/secrets")
        ),
        (
            "postgres://app@128.0.0.1/secrets",
            ParsedURL(host: "128.0.0.1", sslMode: .verifyFull, description: "postgres://app@128.0.0.1:5432/secrets")
        ),
        (
            "postgres://app@localhost.example.com/secrets",
            ParsedURL(
                host: "localhost.example.com", sslMode: .verifyFull,
                description: "postgres://app@localhost.example.com:5432/secrets")
        ),
        (
            "postgres://app@[::1]:5433/secrets",
            ParsedURL(host: "::1", port: 5433, sslMode: .disable, description: "postgres://app@[::1]:5433/secrets")
        ),
        (
            "postgres://app@[0:0:0:0:0:0:0:1]/secrets",
            ParsedURL(
                host: "0:0:0:0:0:0:0:1", sslMode: .disable, description: "postgres://app@[0:0:0:0:0:0:0:1]:5432/secrets"
            )
        ),
        (
            "postgres://app@[2001:db8::7]/secrets",
            ParsedURL(
                host: "2001:db8::7", sslMode: .verifyFull, description: "postgres://app@[2001:db8::7]:5432/secrets")
        ),
        (
            "postgres://ops%40corp@db.internal/my%20db%2Fprod",
            ParsedURL(
                host: "db.internal", user: "ops@corp", database: "my db/prod", sslMode: .verifyFull,
                description: "postgres://ops%40corp@db.internal:5432/my%20db%2Fprod")
        ),
        (
            "postgres://caf%C3%A9@db.internal/%C3%A9t%C3%A9+1",
            ParsedURL(
                host: "db.internal", user: "café", database: "été+1", sslMode: .verifyFull,
                description: "postgres://caf%C3%A9@db.internal:5432/%C3%A9t%C3%A9%2B1")
        ),
        (
            "postgres://app:\(canaryPassword)@db.internal/secrets",
            ParsedURL(host: "db.internal", sslMode: .verifyFull, description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=disable",
            ParsedURL(host: "db.internal", sslMode: .disable, description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=require",
            ParsedURL(host: "db.internal", sslMode: .require, description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "postgres://app@localhost/secrets?sslmode=verify-full",
            ParsedURL(host: "localhost", sslMode: .verifyFull, description: "postgres://app@localhost:5432/secrets")
        ),
        (
            "postgres://app@localhost/secrets?sslmode=require",
            ParsedURL(host: "localhost", sslMode: .require, description: "postgres://app@localhost:5432/secrets")
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=verify-full&sslrootcert=/etc/ssl/our%20ca.pem"
                + "&connect_timeout=10",
            ParsedURL(
                host: "db.internal", sslMode: .verifyFull, sslRootCertificate: "/etc/ssl/our ca.pem",
                connectTimeout: 10,
                description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "postgres://app@db.internal/secrets?sslrootcert=ca.pem",
            ParsedURL(
                host: "db.internal", sslMode: .verifyFull, sslRootCertificate: "ca.pem",
                description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "postgres://app@db.internal/secrets?&connect_timeout=3600&",
            ParsedURL(
                host: "db.internal", sslMode: .verifyFull, connectTimeout: 3600,
                description: "postgres://app@db.internal:5432/secrets")
        ),
        (
            "postgres://app@db.internal:65535/secrets?",
            ParsedURL(
                host: "db.internal", port: 65535, sslMode: .verifyFull,
                description: "postgres://app@db.internal:65535/secrets")
        ),
    ])
    func parsesAValidURL(text: String, expected: ParsedURL) throws {
        let location = try parse(text)
        #expect(location.host == expected.host)
        #expect(location.port == expected.port)
        #expect(location.user == expected.user)
        #expect(location.database == expected.database)
        #expect(location.sslMode == expected.sslMode)
        #expect(location.sslRootCertificate == expected.sslRootCertificate)
        #expect(location.connectTimeout == expected.connectTimeout)
        #expect(location.description == expected.description)
    }

    @Test(arguments: [
        ("postgres://db.internal/secrets", ["PGUSER": "ops", "USER": "me"], "ops", "secrets"),
        ("postgres://db.internal/secrets", ["USER": "me"], "me", "secrets"),
        ("postgres://db.internal", ["PGUSER": "ops"], "ops", "ops"),
        ("postgres://db.internal/", ["USER": "me"], "me", "me"),
        ("postgres://@db.internal?sslmode=require", ["PGUSER": "", "USER": "me"], "me", "me"),
        ("postgres://:\(canaryPassword)@db.internal", ["USER": "me"], "me", "me"),
        ("postgres://app@db.internal", ["PGUSER": "ops"], "app", "app"),
    ])
    func aMissingUserComesFromTheEnvironmentAndTheDatabaseFromTheUser(
        text: String, environment: [String: String], user: String, database: String
    ) throws {
        let location = try parse(text, environment: environment)
        #expect(location.user == user)
        #expect(location.database == database)
    }

    @Test func theURLsPasswordIsPercentDecodedAndNeverPrinted() throws {
        let location = try parse("postgres://app:\(canaryPassword)%3A%40%25@db.internal/secrets")
        #expect(location.password(environment: [:], homeDirectory: nil).password == canaryPassword + ":@%")
        var dumped = ""
        dump(location, to: &dumped)
        for shown in [location.description, String(reflecting: location), "\([location])", dumped] {
            #expect(!shown.contains(canaryPassword))
        }
    }

    @Test func aPasswordMayHoldAnAtButAnAtAfterTheHostNeverMovesIt() throws {
        let location = try parse("postgres://app:a@b%2Fc@db.internal/secrets")
        #expect(location.host == "db.internal")
        #expect(location.password(environment: [:], homeDirectory: nil).password == "a@b/c")
        // An '@' in the parameters is part of them: the host stays the one written before them.
        let other = try parse(
            "postgres://app:pw@192.0.2.1:5432/secrets?sslmode=verify-full&sslrootcert=/etc/ssl/ca@127.0.0.1:56999")
        #expect(other.host == "192.0.2.1")
        #expect(other.sslMode == .verifyFull)
        #expect(other.sslRootCertificate == "/etc/ssl/ca@127.0.0.1:56999")
    }

    @Test(arguments: [
        (
            "postgres://app:\(canaryPassword)@db.internal:5432/secrets?ssl=true",
            "--state: the PostgreSQL URL postgres://app@db.internal:5432/secrets has an unknown parameter 'ssl'; "
                + "supported: sslmode, sslrootcert, connect_timeout"
        ),
        (
            "postgres://app@db.internal/secrets?password=\(canaryPassword)",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has an unknown parameter 'password'; "
                + "supported: sslmode, sslrootcert, connect_timeout; "
                + "give the password in PGPASSWORD or a password file (~/.pgpass) instead"
        ),
        (
            "postgres://app@db.internal/secrets?host=other",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has an unknown parameter 'host'; "
                + "supported: sslmode, sslrootcert, connect_timeout; "
                + "write the user, host, port and database in the URL itself: postgres://USER@HOST:PORT/DATABASE"
        ),
        (
            "postgres://app:\(canaryPassword)@db.internal/secrets?sslmode=prefer",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has sslmode 'prefer'; "
                + "supported: disable, require, verify-full"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=allow",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has sslmode 'allow'; "
                + "supported: disable, require, verify-full"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=verify-ca",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has sslmode 'verify-ca'; "
                + "supported: disable, require, verify-full"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=Require",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has sslmode 'Require'; "
                + "supported: disable, require, verify-full"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=require&sslmode=disable",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets gives sslmode twice; keep one"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has a parameter with no '='; "
                + "write NAME=VALUE, NAME one of sslmode, sslrootcert, connect_timeout"
        ),
        (
            "postgres://app@db.internal/secrets?sslrootcert=",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has an empty sslrootcert; "
                + "give the path of a PEM file of CA certificates"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=require&sslrootcert=ca.pem",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has sslrootcert, which is used only "
                + "with sslmode=verify-full; add sslmode=verify-full or remove sslrootcert"
        ),
        (
            "postgres://app@localhost/secrets?sslrootcert=ca.pem",
            "--state: the PostgreSQL URL postgres://app@localhost/secrets has sslrootcert, which is used only "
                + "with sslmode=verify-full; add sslmode=verify-full or remove sslrootcert"
        ),
        (
            "postgres://app@db.internal/secrets?connect_timeout=0",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has connect_timeout '0'; "
                + "give a whole number of seconds from 1 to 3600"
        ),
        (
            "postgres://app@db.internal/secrets?connect_timeout=3601",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has connect_timeout '3601'; "
                + "give a whole number of seconds from 1 to 3600"
        ),
        (
            "postgres://app@db.internal/secrets?connect_timeout=+5",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has connect_timeout '+5'; "
                + "give a whole number of seconds from 1 to 3600"
        ),
        (
            "postgres://app@db.internal/secrets?sslmode=%ZZ",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has an invalid percent-escape in "
                + "its parameters; write '%' itself as %25, and only UTF-8 text without control characters"
        ),
        (
            "postgres://app:\(canaryPassword)@db.internal/secrets#main",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has a '#' fragment; "
                + "remove it (write a '#' in the database name as %23)"
        ),
        (
            "postgres://app:\(canaryPassword)@/secrets",
            "--state: the PostgreSQL URL postgres://app@/secrets has no host; give a TCP host name or address, "
                + "as in postgres://app@localhost:5432/secrets (Unix sockets are not supported)"
        ),
        (
            "postgres:///secrets",
            "--state: the PostgreSQL URL postgres:///secrets has no host; give a TCP host name or address, "
                + "as in postgres://app@localhost:5432/secrets (Unix sockets are not supported)"
        ),
        (
            "postgres://app@:5432/secrets",
            "--state: the PostgreSQL URL postgres://app@:5432/secrets has no host; give a TCP host name or address, "
                + "as in postgres://app@localhost:5432/secrets (Unix sockets are not supported)"
        ),
        (
            "postgres://app:\(canaryPassword)@db.internal:0/secrets",
            "--state: the PostgreSQL URL postgres://app@db.internal:0/secrets has a port that is not a number "
                + "from 1 to 65535; write HOST:PORT, as in db.internal:5432"
        ),
        (
            "postgres://app@db.internal:65536/secrets",
            "--state: the PostgreSQL URL postgres://app@db.internal:65536/secrets has a port that is not a number "
                + "from 1 to 65535; write HOST:PORT, as in db.internal:5432"
        ),
        (
            "postgres://app@db.internal:+5432/secrets",
            "--state: the PostgreSQL URL postgres://app@db.internal:+5432/secrets has a port that is not a number "
                + "from 1 to 65535; write HOST:PORT, as in db.internal:5432"
        ),
        (
            "postgres://app@db.internal:/secrets",
            "--state: the PostgreSQL URL postgres://app@db.internal:/secrets has a port that is not a number "
                + "from 1 to 65535; write HOST:PORT, as in db.internal:5432"
        ),
        // A password typed without its `@host` sits where the port goes: nothing after the host is shown.
        (
            "postgres://app:\(canaryPassword)/secrets",
            "--state: the PostgreSQL URL postgres://app… has a port that is not a number "
                + "from 1 to 65535; write HOST:PORT, as in db.internal:5432"
        ),
        (
            "postgres://app:hun:ter2/secrets",
            "--state: the PostgreSQL URL postgres://app… has more than one ':' after its host; "
                + "write an IPv6 address in brackets, as in postgres://app@[::1]:5432/secrets"
        ),
        (
            "postgres://[::1]:\(canaryPassword)",
            "--state: the PostgreSQL URL postgres://[::1]… has a port that is not a number "
                + "from 1 to 65535; write HOST:PORT, as in db.internal:5432"
        ),
        (
            "postgres://app@::1/secrets",
            "--state: the PostgreSQL URL postgres://app@::1/secrets has more than one ':' after its host; "
                + "write an IPv6 address in brackets, as in postgres://app@[::1]:5432/secrets"
        ),
        (
            "postgres://app@[::1/secrets",
            "--state: the PostgreSQL URL postgres://app@[::1/secrets has an unclosed '[' in its host; "
                + "write an IPv6 address as [::1]"
        ),
        (
            "postgres://app@[db.internal]/secrets",
            "--state: the PostgreSQL URL postgres://app@[db.internal]/secrets has '[db.internal]' as its host, "
                + "which is not an IPv6 address; write one as [::1] (zone IDs are not supported)"
        ),
        (
            "postgres://app@[fe80::1%25eth0]/secrets",
            "--state: the PostgreSQL URL postgres://app@[fe80::1%25eth0]/secrets has '[fe80::1%25eth0]' as its host, "
                + "which is not an IPv6 address; write one as [::1] (zone IDs are not supported)"
        ),
        (
            "postgres://app@[::1]5432/secrets",
            "--state: the PostgreSQL URL postgres://app@[::1]5432/secrets has text after ']' that is not :PORT; "
                + "write an IPv6 host as [::1]:5432"
        ),
        (
            "postgres://app@db1,db2/secrets",
            "--state: the PostgreSQL URL postgres://app@db1,db2/secrets lists several hosts; give exactly one"
        ),
        (
            "postgres://app@db%2Einternal/secrets",
            "--state: the PostgreSQL URL postgres://app@db%2Einternal/secrets has an invalid host 'db%2Einternal'; "
                + "use a DNS name or an IP address (an IPv6 address in brackets)"
        ),
        (
            "postgres://ap%ZZp@db.internal/secrets",
            "--state: the PostgreSQL URL postgres://ap%ZZp@db.internal/secrets has an invalid percent-escape in "
                + "its user name; write '%' itself as %25, and only UTF-8 text without control characters"
        ),
        (
            "postgres://app:\(canaryPassword)%G1@db.internal/secrets",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has an invalid percent-escape in "
                + "its password; write '%' itself as %25, and only UTF-8 text without control characters"
        ),
        (
            "postgres://app:\(canaryPassword)%0A@db.internal/secrets",
            "--state: the PostgreSQL URL postgres://app@db.internal/secrets has an invalid percent-escape in "
                + "its password; write '%' itself as %25, and only UTF-8 text without control characters"
        ),
        (
            "postgres://app@db.internal/100%",
            "--state: the PostgreSQL URL postgres://app@db.internal/100% has an invalid percent-escape in "
                + "its database name; write '%' itself as %25, and only UTF-8 text without control characters"
        ),
        (
            "postgres://app@db.internal/%FF",
            "--state: the PostgreSQL URL postgres://app@db.internal/%FF has an invalid percent-escape in "
                + "its database name; write '%' itself as %25, and only UTF-8 text without control characters"
        ),
        (
            "postgres://app:\(canaryPassword)@db.internal/secrets\n",
            "--state: the PostgreSQL URL has a control character (a stray newline or tab?); remove it"
        ),
        (
            "postgres:/app:\(canaryPassword)@db.internal/secrets",
            "--state: expected a PostgreSQL URL like postgres://USER@HOST:PORT/DATABASE"
        ),
        (
            "mysql://app:\(canaryPassword)@db.internal/secrets",
            "--state: expected a PostgreSQL URL like postgres://USER@HOST:PORT/DATABASE"
        ),
    ])
    func refusesAnInvalidURLWithoutShowingItsPassword(text: String, message: String) {
        #expect(throws: PostgresLocationError(description: message)) { try parse(text) }
        #expect(!message.contains(canaryPassword))
    }

    @Test func aMissingUserWithNoPGUSERNorUSERIsAnError() {
        let message =
            "STRIPE_SECRETS_STATE: the PostgreSQL URL postgres://@db.internal/secrets has no user name, "
            + "and neither PGUSER nor USER is set; write one as in postgres://USER@HOST/DATABASE"
        #expect(throws: PostgresLocationError(description: message)) {
            try parse(
                "postgres://:\(canaryPassword)@db.internal/secrets", source: "STRIPE_SECRETS_STATE",
                environment: ["PGUSER": "", "USER": ""])
        }
    }
}

// MARK: - Passwords

@Suite struct PostgresPasswordTests {
    private static let location = "postgres://app@db.internal/secrets"

    /// Writes `text` as a password file with `mode`; returns its path.
    @discardableResult
    private func passfile(
        _ text: String, in folder: TemporaryFolder, name: String = "pgpass", mode: Int = 0o600
    ) throws -> String {
        let path = try folder.write(name, text)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test(arguments: [
        ("db.internal:5432:secrets:app:exact", location, "exact"),
        ("other:5432:secrets:app:no\n*:5432:secrets:app:any-host", location, "any-host"),
        ("db.internal:5433:secrets:app:no\ndb.internal:*:secrets:app:any-port", location, "any-port"),
        ("db.internal:5432:other:app:no\ndb.internal:5432:*:app:any-database", location, "any-database"),
        ("db.internal:5432:secrets:ops:no\ndb.internal:5432:secrets:*:any-user", location, "any-user"),
        ("#db.internal:5432:secrets:app:commented\ndb.internal:5432:secrets:app:real", location, "real"),
        (" #db.internal:5432:secrets:app:x\n*:*:*:*:indented-is-no-comment", location, "indented-is-no-comment"),
        ("*:*:*:*:first\ndb.internal:5432:secrets:app:second", location, "first"),
        ("\n\n\ndb.internal:5432:secrets:app:after-blank-lines\n", location, "after-blank-lines"),
        ("db.internal:5432:secrets:app:crlf\r\n", location, "crlf"),
        (#"db.internal:5432:secrets:app:p\:a\\ss"#, location, #"p:a\ss"#),
        ("db.internal:5432:secrets:app:pass:extra:fields", location, "pass"),
        (#"db.internal:5432:secrets:app:ends-with\"#, location, #"ends-with\"#),
        (#"\:\:1:5432:secrets:app:ipv6"#, "postgres://app@[::1]/secrets", "ipv6"),
        (
            "db.internal:5432:secrets:app:no\ndb.internal:6543:secrets:app:port",
            "postgres://app@db.internal:6543/secrets",
            "port"
        ),
        ("db.internal:5432:me:me:defaults", "postgres://db.internal", "defaults"),
        ("db.internal:5432:my db:ops@corp:decoded", "postgres://ops%40corp@db.internal/my%20db", "decoded"),
        ("db.internal:5432:secrets:app:pässwörd", location, "pässwörd"),
    ])
    func theFirstMatchingLineGivesThePassword(lines: String, url: String, password: String) throws {
        let folder = try TemporaryFolder()
        let path = try passfile(lines, in: folder)
        let resolution = try parse(url).password(environment: ["PGPASSFILE": path], homeDirectory: nil)
        #expect(resolution == PasswordResolution(password: password, source: .passfile(path: path)))
    }

    @Test(arguments: [
        "DB.internal:5432:secrets:app:host-case",
        "db.internal:05432:secrets:app:port-spelling",
        #"\*:5432:secrets:app:escaped-star"#,
        "db.*:5432:secrets:app:partial-star",
        "db.internal:5432:secrets:app",
        "db.internal:5432:secrets",
        "db.internal:5432:secrets:app:\n*:*:*:*:after-an-empty-match",
        "#*:*:*:*:commented",
    ])
    func noLineMatchesGivesNoPassword(lines: String) throws {
        let folder = try TemporaryFolder()
        let path = try passfile(lines, in: folder)
        let resolution = try parse(Self.location).password(environment: ["PGPASSFILE": path], homeDirectory: nil)
        #expect(resolution == .notFound())
    }

    @Test(arguments: [(0o600, true), (0o400, true), (0o644, false), (0o640, false), (0o602, false), (0o610, false)])
    func aFileWithGroupOrWorldAccessIsIgnoredWithAWarning(mode: Int, used: Bool) throws {
        let folder = try TemporaryFolder()
        let path = try passfile("*:*:*:*:from-file", in: folder, mode: mode)
        let resolution = try parse(Self.location).password(environment: ["PGPASSFILE": path], homeDirectory: nil)
        if used {
            #expect(resolution == PasswordResolution(password: "from-file", source: .passfile(path: path)))
        } else {
            #expect(
                resolution
                    == .notFound(
                        warning: "the password file \(path) has group or world access, so it is ignored "
                            + "(as libpq does); restrict it with chmod 0600 \(path)"))
        }
    }

    @Test func pgpassInTheHomeDirectoryIsTheDefault() throws {
        let folder = try TemporaryFolder()
        let path = try passfile("*:*:*:*:from-home", in: folder, name: ".pgpass")
        let location = try parse(Self.location)
        let expected = PasswordResolution(password: "from-home", source: .passfile(path: path))
        #expect(location.password(environment: [:], homeDirectory: folder.path) == expected)
        #expect(location.password(environment: [:], homeDirectory: folder.path + "/") == expected)
        #expect(location.password(environment: ["PGPASSFILE": ""], homeDirectory: folder.path) == expected)
    }

    @Test func pgpassfileOverridesTheHomeDirectory() throws {
        let folder = try TemporaryFolder()
        try passfile("*:*:*:*:from-home", in: folder, name: ".pgpass")
        let chosen = try passfile("*:*:*:*:from-pgpassfile", in: folder, name: "chosen")
        let resolution = try parse(Self.location).password(
            environment: ["PGPASSFILE": chosen], homeDirectory: folder.path)
        #expect(resolution == PasswordResolution(password: "from-pgpassfile", source: .passfile(path: chosen)))
    }

    @Test func theURLBeatsPGPASSWORDWhichBeatsThePasswordFile() throws {
        let folder = try TemporaryFolder()
        try passfile("*:*:*:*:from-file", in: folder, name: ".pgpass")
        let home = folder.path
        let withPassword = try parse("postgres://app:from-url@db.internal/secrets")
        let withoutPassword = try parse(Self.location)
        let emptyPassword = try parse("postgres://app:@db.internal/secrets")
        #expect(
            withPassword.password(environment: ["PGPASSWORD": "from-env"], homeDirectory: home)
                == PasswordResolution(password: "from-url", source: .url))
        #expect(
            withoutPassword.password(environment: ["PGPASSWORD": "from-env"], homeDirectory: home)
                == PasswordResolution(password: "from-env", source: .environment))
        #expect(
            emptyPassword.password(environment: ["PGPASSWORD": "from-env"], homeDirectory: home)
                == PasswordResolution(password: "from-env", source: .environment))
        #expect(
            withoutPassword.password(environment: ["PGPASSWORD": ""], homeDirectory: home)
                == PasswordResolution(password: "from-file", source: .passfile(path: home + "/.pgpass")))
    }

    @Test func aMissingFileIsSkippedQuietly() throws {
        let folder = try TemporaryFolder()
        let location = try parse(Self.location)
        #expect(location.password(environment: [:], homeDirectory: folder.path) == .notFound())
        #expect(
            location.password(environment: ["PGPASSFILE": folder.path + "/none/pgpass"], homeDirectory: nil)
                == .notFound())
        #expect(location.password(environment: [:], homeDirectory: nil) == .notFound())
        #expect(location.password(environment: [:], homeDirectory: "") == .notFound())
    }

    @Test(.timeLimit(.minutes(1))) func aFIFOOrAFolderIsIgnoredWithoutBlocking() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let directory = folder.path + "/directory"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let location = try parse(Self.location)
        for path in [fifo, directory] {
            #expect(
                location.password(environment: ["PGPASSFILE": path], homeDirectory: nil)
                    == .notFound(
                        warning: "the password file \(path) is not a regular file, so it is ignored (as libpq does); "
                            + "make it a regular file with mode 0600"))
        }
    }

    @Test func aSymbolicLinkIsFollowedAndItsTargetChecked() throws {
        let folder = try TemporaryFolder()
        let target = try passfile("*:*:*:*:through-link", in: folder)
        let link = folder.path + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let location = try parse(Self.location)
        #expect(
            location.password(environment: ["PGPASSFILE": link], homeDirectory: nil)
                == PasswordResolution(password: "through-link", source: .passfile(path: link)))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        #expect(location.password(environment: ["PGPASSFILE": link], homeDirectory: nil).warning != nil)
    }

    @Test func aFileOverOneMebibyteIsIgnoredWithAWarning() throws {
        let folder = try TemporaryFolder()
        let comment = "#" + String(repeating: "x", count: 1023) + "\n"
        let path = try passfile(
            String(repeating: comment, count: 1024) + "*:*:*:*:too-far", in: folder)
        #expect(
            try parse(Self.location).password(environment: ["PGPASSFILE": path], homeDirectory: nil)
                == .notFound(
                    warning: "the password file \(path) is larger than 1 MiB, so it is ignored; "
                        + "keep only its hostname:port:database:username:password lines"))
    }

    @Test func aPasswordThatIsNotUTF8IsIgnoredWithAWarning() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("pgpass", Array("*:*:*:*:".utf8) + [0xFF, 0xFE])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(
            try parse(Self.location).password(environment: ["PGPASSFILE": path], homeDirectory: nil)
                == .notFound(
                    warning: "the matching line of the password file \(path) has a password that is not UTF-8, "
                        + "so it is not used; write it in UTF-8"))
    }

    @Test func aResolutionPrintsWhereThePasswordCameFromButNotThePassword() throws {
        let resolution = try parse("postgres://app:\(canaryPassword)@db.internal/secrets")
            .password(environment: [:], homeDirectory: nil)
        var dumped = ""
        dump(resolution, to: &dumped)
        #expect(resolution.description == "a password from the URL")
        for shown in [String(reflecting: resolution), "\([resolution])", dumped] {
            #expect(!shown.contains(canaryPassword))
        }
        #expect(PasswordResolution.notFound().description == "no password")
        #expect(PasswordResolution.Source.environment.description == "PGPASSWORD")
        #expect(PasswordResolution.Source.passfile(path: "/home/me/.pgpass").description == "/home/me/.pgpass")
    }
}
