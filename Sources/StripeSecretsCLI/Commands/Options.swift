import ArgumentParser
import SecretsCore
import StateStorage
import StripeAPI

/// `-f FILE`: which manifest to read.
struct ManifestOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: "The manifest to read.")
    var file = "secrets.yaml"
}

/// `--state PATH|URL` and `--workspace NAME`: which state to use.
struct StateOptions: ParsableArguments {
    @Option(
        name: .customLong("state"),
        help: ArgumentHelp(
            "The state: a file, or postgres://USER@HOST:PORT/DB[?sslmode=…].",
            discussion: "Default: STRIPE_SECRETS_STATE, else NAME.state.json beside the manifest NAME.yaml.",
            valueName: "path|url"))
    var location: String?

    @Option(
        help: ArgumentHelp(
            "The state's name in a PostgreSQL database.",
            discussion: "Default: STRIPE_SECRETS_WORKSPACE, else default.", valueName: "name"))
    var workspace: String?

    @Option(
        help: ArgumentHelp(
            "Read the fingerprint key kept apart from the state from this file.",
            discussion: "Default: STRIPE_SECRETS_FINGERPRINT_KEY (base64 of at least 32 random bytes), else none: "
                + "the state keeps its own key.", valueName: "path"))
    var fingerprintKeyFile: String?

    func validate() throws {
        if let location, location.isEmpty { throw ValidationError("--state needs a path or a postgres:// URL") }
        if let workspace, workspace.isEmpty { throw ValidationError("--workspace needs a name") }
    }

    /// Where the state is, for the manifest at `manifest`, and the key kept apart from it.
    func resolve(manifest: String) throws -> StateTarget {
        do {
            return StateTarget(location: try location(manifest: manifest), keptApartKey: try keptApartKey())
        } catch let error as StateLocationError {
            throw Console.fail(error.description)
        }
    }

    /// Where the state is, for the manifest at `manifest`; its problem thrown, not printed.
    func location(manifest: String) throws -> StateLocation {
        try StateLocation.resolve(
            state: location, workspace: workspace, manifest: manifest, environment: Environment.process.values)
    }

    /// Whether a fingerprint key kept apart is given (by flag or variable), before it is read.
    var namesKeptApartKey: Bool {
        fingerprintKeyFile != nil || keptApartKeyVariable != nil
    }

    /// STRIPE_SECRETS_FINGERPRINT_KEY, unless unset or empty.
    private var keptApartKeyVariable: String? {
        Environment.process.values["STRIPE_SECRETS_FINGERPRINT_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The fingerprint key kept apart from the state: from --fingerprint-key-file, else from
    /// STRIPE_SECRETS_FINGERPRINT_KEY; nil when neither is given.
    func keptApartKey() throws -> StateDocument.KeptApartKey? {
        if let fingerprintKeyFile { return try Self.key(fromFile: fingerprintKeyFile, flag: "--fingerprint-key-file") }
        guard let text = keptApartKeyVariable else { return nil }
        guard let key = FingerprintKey(keptApart: Array(text.utf8), allowRaw: false) else {
            throw Console.fail("STRIPE_SECRETS_FINGERPRINT_KEY is not a usable key; \(Self.keyHint)")
        }
        return StateDocument.KeptApartKey(key, origin: "STRIPE_SECRETS_FINGERPRINT_KEY")
    }

    private static let keyHint =
        "it must be base64 of at least 32 random bytes (make one with: openssl rand -base64 32)"

    /// A kept-apart key from the file that `flag` names: base64, or at least 32 raw bytes.
    static func key(fromFile path: String, flag: String) throws -> StateDocument.KeptApartKey {
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: path, maxBytes: 4096)
        } catch {
            throw Console.fail(
                "\(flag): "
                    + error.describe(
                        path, notFoundHint: "give the path of a file holding the key", limit: "too large for a key"))
        }
        guard let key = FingerprintKey(keptApart: bytes, allowRaw: true) else {
            throw Console.fail("\(flag) \(path) holds less than 32 bytes; \(keyHint), or 32 raw bytes")
        }
        return StateDocument.KeptApartKey(key, origin: "\(flag) \(path)")
    }

    /// Whether the user named a state (flag or variable) rather than taking the default.
    var isExplicit: Bool {
        location != nil || !(Environment.process.values["STRIPE_SECRETS_STATE"] ?? "").isEmpty
    }
}

/// A state as the flags and the environment name it: where it is, and the key kept apart from it.
struct StateTarget: CustomStringConvertible {
    let location: StateLocation
    var keptApartKey: StateDocument.KeptApartKey?

    var description: String { location.description }

    /// Runs `body` with this state's backend, closed afterwards.
    func using<Result>(_ body: (any StateBackend) async throws -> Result) async throws -> Result {
        try await using(backend: open(), body)
    }

    /// Runs `body` with this state's backend and what it holds, taken from `preload` when it
    /// read this same state, else opened and read now.
    func loading<Result>(
        preload: StatePreload?, _ body: (any StateBackend, StateRead) async throws -> Result
    ) async throws -> Result {
        if let (backend, read) = await preload?.take(for: self) {
            return try await using(backend: backend) { try await body($0, read) }
        }
        return try await using { backend in try await body(backend, try await StateRead(backend)) }
    }

    private func open() throws -> any StateBackend {
        try Console.reportingErrors {
            try location.open(
                environment: Environment.process.values, homeDirectory: Console.homeDirectory,
                keptApartKey: keptApartKey, warn: { Console.printError("warning: \($0)") })
        }
    }

    /// Runs `body` with `backend`, closed afterwards, its errors reported.
    private func using<Result>(
        backend: any StateBackend, _ body: (any StateBackend) async throws -> Result
    ) async throws -> Result {
        do {
            let result = try await Console.reportingErrors { try await body(backend) }
            await backend.close()
            return result
        } catch {
            await backend.close()
            throw error
        }
    }
}

/// `--lock-timeout DURATION`: how long to wait for another writer.
struct LockOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How long to wait for the state's lock, e.g. 30s, 2m, 1m30s.",
            discussion: "Default 0: fail at once, naming the holder.", valueName: "duration"))
    var lockTimeout: DurationArgument = DurationArgument(seconds: 0)

    func validate() throws {
        if lockTimeout.seconds > DurationArgument.day { throw ValidationError("--lock-timeout must be at most 1d") }
    }
}

/// A duration such as `500ms`, `30s`, `2m`, `1h`, `30d` or `1m30s` (units largest first, each
/// once), or whole seconds alone; at most a year. Flags with a shorter limit check it themselves.
struct DurationArgument: ExpressibleByArgument {
    let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    static let maxSeconds: Double = 366 * 86_400
    static let day: Double = 86_400

    /// How `--help` shows a default: in the flag's own syntax (`0s`, `30s`, `1m30s`, `500ms`).
    var defaultValueDescription: String {
        let milliseconds = Int((seconds * 1000).rounded())
        guard milliseconds % 1000 == 0 else { return "\(milliseconds)ms" }
        let whole = milliseconds / 1000
        var parts: [String] = []
        if whole >= 86_400 { parts.append("\(whole / 86_400)d") }
        if whole % 86_400 >= 3600 { parts.append("\(whole % 86_400 / 3600)h") }
        if whole % 3600 >= 60 { parts.append("\(whole % 3600 / 60)m") }
        if whole % 60 > 0 || parts.isEmpty { parts.append("\(whole % 60)s") }
        return parts.joined()
    }

    init?(argument: String) {
        if !argument.isEmpty, argument.allSatisfy(\.isASCII), argument.allSatisfy(\.isNumber) {
            guard let whole = Double(argument), whole <= Self.maxSeconds else { return nil }
            seconds = whole
            return
        }
        let units: [(String, Double)] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1), ("ms", 0.001)]
        var total = 0.0
        var rest = Substring(argument)
        var nextUnit = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            // "ms" before "m", so that 500ms is not read as 500 minutes and a stray "s".
            guard let value = Double(number), !number.hasPrefix("."),
                let index = units.indices.dropFirst(nextUnit).sorted(by: { units[$0].0.count > units[$1].0.count })
                    .first(where: { rest.hasPrefix(units[$0].0) })
            else { return nil }
            total += value * units[index].1
            rest = rest.dropFirst(units[index].0.count)
            nextUnit = index + 1
        }
        guard !argument.isEmpty, total <= Self.maxSeconds else { return nil }
        seconds = total
    }
}

/// How `plan` and `show` print a plan.
enum PlanFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}

/// How to reach Stripe: the key (from the environment or a file, never a flag value, which
/// would show in `ps`), the base URL, the API version and the request rate.
struct ConnectionOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read the API key from this file instead of STRIPE_API_KEY.", valueName: "path"))
    var apiKeyFile: String?

    @Option(
        help: ArgumentHelp(
            "Where the API answers; default STRIPE_API_BASE, else https://api.stripe.com. "
                + "Plain http:// only to loopback (the emulator).", valueName: "url"))
    var apiBase: String?

    @Option(help: ArgumentHelp("Stripe-Version to send.", valueName: "version"))
    var stripeVersion = SecretStoreClient.defaultStripeVersion

    @Option(
        help: ArgumentHelp(
            "Requests per second; default Stripe's limit for the key's mode (25 test, 100 live).", valueName: "n"))
    var rateLimit: Double?

    @Option(
        help: ArgumentHelp(
            "How long one request may take, its whole answer included, before it is retried.",
            valueName: "duration"))
    var requestTimeout = DurationArgument(seconds: 30)

    func validate() throws {
        if let rateLimit, !(rateLimit > 0 && rateLimit <= 1000) {
            throw ValidationError("--rate-limit must be between 0 and 1000 requests per second")
        }
        if requestTimeout.seconds < 1 || requestTimeout.seconds > DurationArgument.day {
            throw ValidationError("--request-timeout must be between 1s and 1d")
        }
    }

    /// The key and base URL, or an error that names where each came from.
    func resolve(environment: Environment) throws -> (key: APIKey, base: BaseURL, keySource: String) {
        let keyText: String
        let keySource: String
        if let apiKeyFile {
            do {
                let bytes = try FileReader.contents(of: apiKeyFile, maxBytes: 4096)
                keyText = String(decoding: bytes, as: UTF8.self)
            } catch {
                throw Console.fail(
                    "--api-key-file: "
                        + error.describe(
                            apiKeyFile, notFoundHint: "give the path of a file holding the key",
                            limit: "too large for a key"))
            }
            keySource = apiKeyFile
        } else if let text = environment.values["STRIPE_API_KEY"], !text.isEmpty {
            keyText = text
            keySource = "STRIPE_API_KEY"
        } else {
            throw Console.fail("set STRIPE_API_KEY to a Stripe secret or restricted key, or pass --api-key-file PATH")
        }
        let key: APIKey
        do {
            key = try APIKey(keyText)
        } catch {
            throw Console.fail("\(keySource): \(error.description)")
        }
        let baseText = apiBase ?? environment.values["STRIPE_API_BASE"] ?? BaseURL.stripe.description
        do {
            return (key, try BaseURL(baseText), keySource)
        } catch {
            throw Console.fail(error.description)
        }
    }
}

/// A resolved way to reach Stripe: the key, where it came from, and the API's base URL.
struct StripeConnection {
    let key: APIKey
    let base: BaseURL
    /// `STRIPE_API_KEY` or the key file's path, for messages.
    let keySource: String
    let options: ConnectionOptions

    /// Runs `body` with a client for this connection, shut down afterwards whatever happens.
    func withClient<Result>(_ body: (SecretStoreClient) async throws -> Result) async throws -> Result {
        let client = SecretStoreClient(
            configuration: .init(
                baseURL: base, apiKey: key, stripeVersion: options.stripeVersion,
                userAgent: "stripe-secrets/\(ToolVersion.current)",
                requestTimeout: .milliseconds(Int64(options.requestTimeout.seconds * 1000)),
                rateLimit: options.rateLimit))
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Refuses a state bound to the other mode than the key's, before any call.
    func checkMode(of state: State, named name: String) throws {
        guard let mode = state.mode, mode != key.mode else { return }
        throw Console.fail(
            "\(name) belongs to \(mode.rawValue) mode but \(keySource) is a \(key.mode.rawValue) key (\(key)).\n"
                + "       Use the \(key.mode.rawValue) environment's state: name it with --state (or "
                + "STRIPE_SECRETS_STATE), or use a \(mode.rawValue) key.")
    }
}

extension ConnectionOptions {
    /// The key and base URL as a connection, or an error that names where each came from.
    func connection(environment: Environment) throws -> StripeConnection {
        let (key, base, keySource) = try resolve(environment: environment)
        return StripeConnection(key: key, base: base, keySource: keySource, options: self)
    }
}
