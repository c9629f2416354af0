import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL server for tests: its own folder under `/tmp`, a free loopback port and a random
/// superuser password.
///
/// The server binaries come from `STRIPE_SECRETS_PG_BIN` when set, else from the highest major version in
/// Debian's `/usr/lib/postgresql/<major>/bin` (or Homebrew's `opt/postgresql@<major>/bin`, or `PATH`).
/// PostgreSQL refuses to run as root, so as root they run as the `postgres` OS user through `runuser`.
/// The server is stopped and its folder removed when the value goes away, and at process exit for any
/// cluster still alive (such as `shared`), so a test run leaves no server behind unless it crashes.
public final class PostgresCluster: Sendable {
    /// What went wrong starting, using or stopping a cluster, with the tools' own messages.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Why PostgreSQL tests cannot run on this machine, or nil when they can.
    ///
    /// Always nil when `CI=true`: there the tests run and fail in `start()`, so that a broken CI machine
    /// cannot pass by skipping them.
    public static let skipReason: String? = {
        guard case .failure(let problem) = setup, !runningInCI else { return nil }
        return "\(problem); PostgreSQL tests skipped"
    }()

    /// One cluster for the whole test process, started on first use and stopped at exit.
    ///
    /// Tests sharing it must not stop it, and must use their own databases and role names, so that they
    /// can run in parallel.
    public static let shared = Result<PostgresCluster, any Error> { try PostgresCluster.start() }

    public let host = "127.0.0.1"
    public let port: Int
    public let superuser = "postgres"
    /// The superuser's password, also what `psql` uses unless given another.
    public let password: String
    /// The cluster's own folder, holding `data`, `socket` and the server log `server.log`.
    public let folder: String
    private let files: ClusterFiles

    private init(files: ClusterFiles, port: Int, password: String) {
        self.files = files
        self.port = port
        self.password = password
        folder = files.folder
    }

    deinit {
        clusterRegistry.remove(files)
        files.destroy()
    }

    /// The CA certificate (PEM) that signed the server's certificate, when started with `tls`.
    public var certificateAuthority: String? {
        FileManager.default.fileExists(atPath: files.caCertificate) ? files.caCertificate : nil
    }

    /// Creates a fresh cluster and starts its server, ready for connections when this returns.
    ///
    /// The superuser `postgres` authenticates with `password` (SCRAM), over TCP on `host` and `port` only.
    /// With `tls`, the server also speaks TLS with a certificate for the host name `localhost` only (not for
    /// `127.0.0.1`), signed by a CA of its own (`certificateAuthority`), made with `openssl`.
    /// Takes a second or two, mostly `initdb`.
    public static func start(tls: Bool = false) throws -> PostgresCluster {
        let binaries = try setup.get()
        let files = ClusterFiles(folder: "/tmp/stripe-secrets-pg-\(UUID().uuidString.lowercased())", binaries: binaries)
        // Fixed /tmp rather than the temporary directory: the server's user must be able to reach it, and a
        // Unix socket's path must stay under about 100 bytes.
        try FileManager.default.createDirectory(
            atPath: files.folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        clusterRegistry.add(files)
        do {
            let password = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            try files.create(password: password)
            if tls { try files.makeCertificates() }
            var attemptsLeft = 5
            while true {
                let port = try freeLoopbackPort()
                do {
                    try files.startServer(port: port)
                    return PostgresCluster(files: files, port: port, password: password)
                } catch let taken as PortTaken {
                    // Another process took the port between our probe and the server's bind: try another.
                    attemptsLeft -= 1
                    if attemptsLeft == 0 { throw taken.failure }
                }
            }
        } catch {
            clusterRegistry.remove(files)
            files.destroy()
            throw error
        }
    }

    /// Starts the server again after `stop()`, on the same data and the same port.
    public func start() throws {
        do {
            try files.startServer(port: port)
        } catch let taken as PortTaken {
            throw taken.failure
        }
    }

    /// Stops the server (fast shutdown: open connections are closed) and waits until it is gone.
    public func stop() throws {
        try files.stopServer(mode: "fast")
    }

    /// A libpq URL for `user` (the superuser by default) on `database`, without a password.
    public func url(user: String? = nil, database: String = "postgres") -> String {
        "postgres://\(percentEncoded(user ?? superuser))@\(host):\(port)/\(percentEncoded(database))?sslmode=disable"
    }

    /// Runs `sql` with `psql` (stopping at the first error) and returns its unaligned, tuples-only output
    /// without the final newline.
    ///
    /// Connects as `user` (the superuser by default) with `password` (the superuser's by default); throws
    /// with psql's error output when it fails, including when the password is wrong.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres", user: String? = nil, password: String? = nil)
        throws -> String
    {
        let user = user ?? superuser
        let result = try files.binaries.client(
            "psql",
            ["-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-d", connection(user, database), "-c", sql],
            password: password ?? self.password, folder: folder)
        guard result.status == 0 else {
            throw Failure(
                description: "psql as \(user) on \(database) failed (status \(result.status)): \(result.errors)")
        }
        return result.output.hasSuffix("\n") ? String(result.output.dropLast()) : result.output
    }

    /// The plain SQL `pg_dump` of `database`, taken as the superuser.
    public func dump(database: String) throws -> String {
        let result = try files.binaries.client(
            "pg_dump", ["-w", "-d", connection(superuser, database)], password: password, folder: folder)
        guard result.status == 0 else {
            throw Failure(description: "pg_dump of \(database) failed (status \(result.status)): \(result.errors)")
        }
        return result.output
    }

    /// Creates an empty database owned by the superuser.
    public func createDatabase(_ name: String) throws {
        try psql("CREATE DATABASE \(quotedIdentifier(name))")
    }

    /// Creates a role that can log in with `password`.
    public func createRole(_ name: String, password: String, superuser: Bool = false) throws {
        try psql(
            "CREATE ROLE \(quotedIdentifier(name)) LOGIN PASSWORD \(quotedLiteral(password))"
                + (superuser ? " SUPERUSER" : ""))
    }

    private func connection(_ user: String, _ database: String) -> String {
        let values = [("host", host), ("port", String(port)), ("user", user), ("dbname", database)]
        return (values.map { "\($0)=\(quotedConnectionValue($1))" } + ["sslmode=disable", "connect_timeout=10"])
            .joined(separator: " ")
    }

    private static let setup = Binaries.find()

    private static let runningInCI = ["true", "1"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased())
}

/// Where one cluster lives and how to start and stop its server; shared by the cluster and the exit handler.
private struct ClusterFiles: Sendable {
    let folder: String
    let binaries: Binaries

    var data: String { folder + "/data" }
    var socket: String { folder + "/socket" }
    var log: String { folder + "/server.log" }
    var caCertificate: String { folder + "/ca.crt" }
    var serverCertificate: String { folder + "/server.crt" }
    var serverKey: String { folder + "/server.key" }

    /// A CA and a server certificate it signed, for `localhost` only, valid for two days.
    func makeCertificates() throws {
        try FileManager.default.createDirectory(
            atPath: folder + "/tls", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let scratch = folder + "/tls"
        try Data("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8)
            .write(to: URL(fileURLWithPath: scratch + "/server.ext"))
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stripe-secrets test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", scratch + "/ca.key", "-out", caCertificate,
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", serverKey, "-out",
                scratch + "/server.csr",
            ],
            [
                "x509", "-req", "-in", scratch + "/server.csr", "-CA", caCertificate, "-CAkey", scratch + "/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", scratch + "/server.ext", "-out", serverCertificate,
            ],
        ]
        for arguments in steps {
            let result = try run(
                "/usr/bin/openssl", arguments, directory: folder, environment: ProcessInfo.processInfo.environment)
            guard result.status == 0 else {
                throw PostgresCluster.Failure(description: "openssl \(arguments[0]) failed: \(result.errors)")
            }
        }
        chmod(serverKey, 0o600)
        try binaries.handToServerAccount([serverCertificate, serverKey])
    }

    /// Makes the socket folder and runs `initdb`, with `password` for the superuser `postgres`.
    func create(password: String) throws {
        try FileManager.default.createDirectory(
            atPath: socket, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let passwordFile = folder + "/password"
        try Data(password.utf8).write(to: URL(fileURLWithPath: passwordFile))
        try binaries.handToServerAccount([folder, socket, passwordFile])
        let result = try binaries.server(
            "initdb",
            [
                "-D", data, "--auth=scram-sha-256", "--username=postgres", "--pwfile=\(passwordFile)",
                "--encoding=UTF8", "--no-locale", "--no-sync",
            ],
            folder: folder)
        try? FileManager.default.removeItem(atPath: passwordFile)
        guard result.status == 0 else {
            throw PostgresCluster.Failure(
                description: "initdb failed (status \(result.status)) in \(folder): \(result.errors)")
        }
    }

    /// Starts the server on `port` and waits until it accepts connections; throws `PortTaken` when something
    /// else holds the port.
    func startServer(port: Int) throws {
        let logStart = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        var options = [
            "-c listen_addresses=127.0.0.1", "-p \(port)", "-k '\(socket)'", "-c fsync=off",
            "-c max_connections=100",
        ]
        if FileManager.default.fileExists(atPath: serverCertificate) {
            options += ["-c ssl=on", "-c ssl_cert_file='\(serverCertificate)'", "-c ssl_key_file='\(serverKey)'"]
        }
        let result = try binaries.server(
            "pg_ctl", ["-D", data, "-l", log, "-w", "-t", "30", "start", "-o", options.joined(separator: " ")],
            folder: folder)
        guard result.status != 0 else { return }
        let newLog = String(
            decoding: (FileManager.default.contents(atPath: log) ?? Data()).dropFirst(logStart), as: UTF8.self)
        let failure = PostgresCluster.Failure(
            description: """
                PostgreSQL did not start on 127.0.0.1:\(port) (pg_ctl status \(result.status)): \(result.errors)
                last lines of \(log):
                \(lastLines(of: newLog))
                """)
        if newLog.contains("could not bind") || newLog.contains("could not create any TCP/IP sockets") {
            throw PortTaken(failure: failure)
        }
        throw failure
    }

    /// Stops the server with pg_ctl's shutdown `mode` and waits until it is gone.
    func stopServer(mode: String) throws {
        let result = try binaries.server("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "30", "stop"], folder: folder)
        guard result.status == 0 else {
            throw PostgresCluster.Failure(
                description: "pg_ctl stop failed (status \(result.status)) in \(folder): \(result.errors)")
        }
    }

    /// Stops the server at once if it runs and removes the folder; never throws, for deinit and exit.
    func destroy() {
        if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
            try? stopServer(mode: "immediate")
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// The server could not bind its port, which another process took after `freeLoopbackPort` probed it.
private struct PortTaken: Error {
    let failure: PostgresCluster.Failure
}

/// The PostgreSQL programs, and the account that runs the server ones.
private struct Binaries: Sendable {
    /// Runs server programs as another user, through `runuser`.
    struct Account: Sendable {
        let name: String
        let uid: uid_t
        let gid: gid_t
        let runuser: String
    }

    let folder: String
    /// Who runs the server programs when we are root; nil to run them as ourselves.
    let account: Account?

    static let tools = ["initdb", "pg_ctl", "postgres", "psql", "pg_dump"]

    static func find() -> Result<Binaries, PostgresCluster.Failure> {
        let notFound =
            "PostgreSQL server binaries not found (install Debian's postgresql package, or set STRIPE_SECRETS_PG_BIN)"
        let folder: String
        if let chosen = ProcessInfo.processInfo.environment["STRIPE_SECRETS_PG_BIN"], !chosen.isEmpty {
            guard hasTools(chosen) else {
                return .failure(
                    PostgresCluster.Failure(
                        description: "STRIPE_SECRETS_PG_BIN=\(chosen) lacks one of \(tools.joined(separator: ", ")); "
                            + notFound))
            }
            folder = chosen
        } else {
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            let candidates =
                byMajorVersion("/usr/lib/postgresql", prefix: "", bin: "/bin")
                + byMajorVersion("/opt/homebrew/opt", prefix: "postgresql@", bin: "/bin")
                + byMajorVersion("/usr/local/opt", prefix: "postgresql@", bin: "/bin") + path
            guard let found = candidates.first(where: hasTools) else {
                return .failure(PostgresCluster.Failure(description: notFound))
            }
            folder = found
        }
        guard geteuid() == 0 else { return .success(Binaries(folder: folder, account: nil)) }
        guard let user = getpwnam("postgres") else {
            return .failure(
                PostgresCluster.Failure(
                    description: "running as root, and there is no postgres OS user to run the PostgreSQL server as "
                        + "(initdb and postgres refuse to run as root)"))
        }
        guard let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first(where: FileManager.default.isExecutableFile)
        else {
            return .failure(
                PostgresCluster.Failure(
                    description: "running as root, and runuser is missing to run the PostgreSQL server as postgres"))
        }
        let account = Account(name: "postgres", uid: user.pointee.pw_uid, gid: user.pointee.pw_gid, runuser: runuser)
        return .success(Binaries(folder: folder, account: account))
    }

    /// `parent/<prefix><major><bin>` for each major version present, highest first.
    private static func byMajorVersion(_ parent: String, prefix: String, bin: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        return
            names
            .compactMap { name in name.hasPrefix(prefix) ? Int(name.dropFirst(prefix.count)).map { ($0, name) } : nil }
            .sorted { $0.0 > $1.0 }
            .map { "\(parent)/\($0.1)\(bin)" }
    }

    private static func hasTools(_ folder: String) -> Bool {
        tools.allSatisfy { FileManager.default.isExecutableFile(atPath: "\(folder)/\($0)") }
    }

    /// Gives `paths` to the server's account, so that the server can use what we created for it.
    func handToServerAccount(_ paths: [String]) throws {
        guard let account else { return }
        for path in paths where chown(path, account.uid, account.gid) != 0 {
            throw PostgresCluster.Failure(
                description: "could not give \(path) to \(account.name): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs a server program as the server's account, its output in a file that is read back as `errors`.
    func server(_ tool: String, _ arguments: [String], folder: String) throws -> Finished {
        let program = "\(self.folder)/\(tool)"
        let command = account.map { [$0.runuser, "-u", $0.name, "--", program] } ?? [program]
        let outputFile = "\(folder)/\(tool)-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputFile) }
        let status = try runDetached(
            command + arguments, directory: folder, environment: childEnvironment, outputFile: outputFile)
        let output = FileManager.default.contents(atPath: outputFile) ?? Data()
        return Finished(status: status, output: "", errors: String(decoding: output, as: UTF8.self))
    }

    /// Runs a client program as ourselves, with `password` for the server.
    func client(_ tool: String, _ arguments: [String], password: String, folder: String) throws -> Finished {
        var environment = childEnvironment
        environment["PGPASSWORD"] = password
        return try run("\(self.folder)/\(tool)", arguments, directory: folder, environment: environment)
    }

    /// Our environment without libpq's `PG…` settings, and with untranslated messages.
    private var childEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        return environment
    }
}

/// What a finished program printed, and how it ended.
private struct Finished {
    let status: Int32
    let output: String
    let errors: String
}

/// Runs a program to completion, collecting its output through pipes.
private func run(_ executable: String, _ arguments: [String], directory: String, environment: [String: String])
    throws -> Finished
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes at once so that a full pipe cannot stall the child.
    let errors = CollectedOutput()
    let group = DispatchGroup()
    let errorHandle = err.fileHandleForReading
    DispatchQueue.global().async(group: group) { errors.data = errorHandle.readDataToEndOfFile() }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Finished(
        status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
        errors: String(decoding: errors.data, as: UTF8.self))
}

/// Runs `command` to completion with stdin from /dev/null, stdout and stderr into `outputFile`, and no other
/// descriptor inherited; returns its exit status (128 + the signal when a signal ended it).
///
/// Not Foundation's `Process`: on Linux it learns that a child ended when a socket the child inherits closes,
/// and the server that `pg_ctl start` leaves running would keep that socket open, so the wait would never end.
private func runDetached(_ command: [String], directory: String, environment: [String: String], outputFile: String)
    throws -> Int32
{
    #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
    #else
        var actions: posix_spawn_file_actions_t?
        var attributes: posix_spawnattr_t?
    #endif
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var results = [
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0),
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644),
        posix_spawn_file_actions_adddup2(&actions, 1, 2),
    ]
    #if canImport(Glibc)
        // GNU extensions, which Swift's Glibc module leaves out: closing every other descriptor in the child,
        // atomically, keeps pipes that other threads are creating out of the server (glibc 2.34 and later).
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias ChangeDirectory =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") {
            results.append(unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, directory))
        }
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            results.append(unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3))
        } else {
            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
                results.append(posix_spawn_file_actions_addclose(&actions, descriptor))
            }
        }
    #else
        results.append(posix_spawn_file_actions_addchdir_np(&actions, directory))
        results.append(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_CLOEXEC_DEFAULT)))
    #endif
    if let failed = results.first(where: { $0 != 0 }) {
        throw PostgresCluster.Failure(
            description: "could not prepare \(command[0]): \(String(cString: strerror(failed)))")
    }
    let arguments = command.map { strdup($0) } + [nil]
    let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (arguments + variables).forEach { free($0) } }
    var pid = pid_t()
    let spawned = posix_spawn(&pid, command[0], &actions, &attributes, arguments, variables)
    guard spawned == 0 else {
        throw PostgresCluster.Failure(description: "could not run \(command[0]): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
        guard errno == EINTR else {
            throw PostgresCluster.Failure(
                description: "could not wait for \(command[0]): \(String(cString: strerror(errno)))")
        }
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

/// Bytes collected on another thread; read only after that thread is done.
private final class CollectedOutput: @unchecked Sendable {
    var data = Data()
}

/// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read back, released.
private func freeLoopbackPort() throws -> Int {
    #if os(Linux)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard descriptor >= 0 else {
        throw PostgresCluster.Failure(description: "socket() failed: \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
    }
    guard bound else {
        throw PostgresCluster.Failure(description: "could not bind 127.0.0.1:0: \(String(cString: strerror(errno)))")
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The last `count` lines of `text`.
private func lastLines(of text: String, count: Int = 20) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
}

private func quotedIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

private func quotedLiteral(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}

/// A value for a libpq connection string (`key='value'`), so that spaces, quotes and `=` stay literal.
private func quotedConnectionValue(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
}

private func percentEncoded(_ text: String) -> String {
    let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
}

/// The clusters whose folders still exist, for the exit handler.
private final class ClusterRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var clusters: [String: ClusterFiles] = [:]  // guarded by `lock`, keyed by folder

    init() {
        atexit(destroyRemainingClusters)
    }

    func add(_ files: ClusterFiles) {
        lock.withLock { clusters[files.folder] = files }
    }

    func remove(_ files: ClusterFiles) {
        _ = lock.withLock { clusters.removeValue(forKey: files.folder) }
    }

    func removeAll() -> [ClusterFiles] {
        lock.withLock {
            defer { clusters = [:] }
            return Array(clusters.values)
        }
    }
}

/// Created on first use, which registers the exit handler.
private let clusterRegistry = ClusterRegistry()

/// Stops every server still running and removes its folder; `shared` is never deinitialised, so this is
/// what stops it.
private func destroyRemainingClusters() {
    for files in clusterRegistry.removeAll() {
        files.destroy()
    }
}
