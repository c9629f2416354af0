import StrictYAML

/// Reads, parses and checks a manifest file in one pass.
public enum ManifestLoader {
    /// Manifests larger than this are refused before they are read.
    public static let maxBytes = 64 << 20

    /// The checked manifest, or every problem found in it.
    ///
    /// - Parameters:
    ///   - path: the manifest's path, shown as given in every diagnostic.
    ///   - now: unix seconds; an `expires_at` at or before it is an error.
    public static func load(path: String, now: Int64) throws(DiagnosticsError) -> Manifest {
        try check(path: path, now: now, environment: [:], resolvingValues: false).manifest
    }

    /// What `validate` and `plan` check: the manifest and, when `resolvingValues`, every value
    /// of the secrets whose declarations are sound, so that one run reports every problem.
    public static func check(
        path: String, now: Int64, environment: [String: String], resolvingValues: Bool
    ) throws(DiagnosticsError) -> (manifest: Manifest, secrets: [ResolvedSecret]) {
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: path, maxBytes: maxBytes)
        } catch {
            throw DiagnosticsError([Diagnostic(describe(error, path: path))], in: path)
        }
        return try check(bytes, path: path, now: now, environment: environment, resolvingValues: resolvingValues)
    }

    /// `check` for manifest text already in memory; `path` names it in messages and locates
    /// relative `file:` values.
    public static func check(
        _ bytes: [UInt8], path: String, now: Int64, environment: [String: String], resolvingValues: Bool
    ) throws(DiagnosticsError) -> (manifest: Manifest, secrets: [ResolvedSecret]) {
        let document = StrictYAMLParser.parse(bytes, limits: ParseLimits(maxBytes: maxBytes))
        var (secrets, diagnostics) = ManifestDecoder.decode(document, file: path, now: now)
        let manifest = Manifest(path: path, directory: directory(of: path), secrets: secrets)
        var resolved: [ResolvedSecret] = []
        if resolvingValues {
            let problems: [Diagnostic]
            (resolved, problems) = manifest.resolveValues(environment: environment)
            diagnostics += problems
        }
        guard diagnostics.isEmpty else { throw DiagnosticsError(diagnostics, in: path) }
        return (manifest, resolved)
    }

    /// Checks manifest text that is already in memory, without reading values.
    public static func decode(_ bytes: [UInt8], path: String, now: Int64) throws(DiagnosticsError) -> Manifest {
        try check(bytes, path: path, now: now, environment: [:], resolvingValues: false).manifest
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func describe(_ error: FileReadError, path: String) -> String {
        switch error {
        case .notFound: "\(path) does not exist; pass the manifest with -f FILE"
        case .isDirectory: "\(path) is a directory; pass the manifest file with -f FILE"
        case .notRegularFile: "\(path) is not a regular file"
        case .tooLarge(let bytes):
            "\(path) is \(bytes.grouped) bytes; manifests are limited to \(maxBytes.grouped) bytes"
        case .unreadable(let reason): "\(path) cannot be read: \(reason)"
        }
    }
}

/// A declared secret with its value read from its source.
public struct ResolvedSecret: Sendable {
    public let declaration: SecretDeclaration
    public let value: SecretValue
}

extension Manifest {
    /// Reads every secret's value; each source is read once, even when fanned out to many
    /// accounts, and each unreadable source is reported once at its `value:`.
    public func resolveValues(environment: [String: String]) -> (secrets: [ResolvedSecret], problems: [Diagnostic]) {
        let resolver = ValueResolver(environment: environment, directory: directory)
        var results: [ValueSource: Result<SecretValue, ValueProblem>] = [:]
        var reported: Set<SourceLocation> = []
        var resolved: [ResolvedSecret] = []
        var problems: [Diagnostic] = []
        resolved.reserveCapacity(secrets.count)
        for secret in secrets {
            let result = results[secret.source] ?? resolver.resolve(secret.source)
            results[secret.source] = result
            switch result {
            case .success(let value):
                resolved.append(ResolvedSecret(declaration: secret, value: value))
            case .failure(let problem):
                if reported.insert(secret.valueLocation).inserted {
                    problems.append(Diagnostic(problem.message, at: secret.valueLocation))
                }
            }
        }
        return (resolved, problems)
    }
}
