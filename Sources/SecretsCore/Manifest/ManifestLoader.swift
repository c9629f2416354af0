import SecretsModel
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
        try check(path: path, now: now, environment: [:], values: .skip).manifest
    }

    /// What `validate` and `plan` check: the manifest and, as `values` says, every value of
    /// the secrets whose declarations are sound, so that one run reports every problem.
    public static func check(
        path: String, now: Int64, environment: Environment, values: ValueReading
    ) throws(DiagnosticsError) -> CheckedManifest {
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: path, maxBytes: maxBytes)
        } catch {
            throw DiagnosticsError(
                [
                    Diagnostic(
                        error.describe(
                            path, notFoundHint: "pass the manifest with -f FILE",
                            limit: "manifests are limited to \(maxBytes.grouped) bytes"))
                ], in: path)
        }
        return try check(bytes, path: path, now: now, environment: environment, values: values)
    }

    /// `check` for manifest text already in memory; `path` names it in messages and locates
    /// relative `file:` values.
    public static func check(
        _ bytes: [UInt8], path: String, now: Int64, environment: Environment, values: ValueReading
    ) throws(DiagnosticsError) -> CheckedManifest {
        var (secrets, diagnostics) = ManifestDecoder.decode(
            bytes, limits: ParseLimits(maxBytes: maxBytes), file: path, now: now)
        let manifest = Manifest(path: path, directory: directory(of: path), secrets: secrets)
        var resolutions: [ValueResolution] = []
        if values != .skip {
            resolutions = manifest.resolveValues(environment: environment)
            if values == .required { diagnostics += resolutions.diagnostics }
        }
        guard diagnostics.isEmpty else { throw DiagnosticsError(diagnostics, in: path) }
        return CheckedManifest(manifest: manifest, values: resolutions, bytes: bytes)
    }

    /// Checks manifest text that is already in memory, without reading values.
    public static func decode(_ bytes: [UInt8], path: String, now: Int64) throws(DiagnosticsError) -> Manifest {
        try check(bytes, path: path, now: now, environment: [:], values: .skip).manifest
    }

    /// The folder of `path`, for relative `file:` values and files beside it.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Whether and how `ManifestLoader.check` reads values.
public enum ValueReading: Sendable {
    /// Structure only (`validate --skip-values`).
    case skip
    /// Every value must resolve; each that does not is a diagnostic.
    case required
    /// Read every value, but report the ones that do not resolve as results, not errors
    /// (`plan --allow-unresolved`).
    case allowUnresolved
}

/// A manifest that passed its checks, with what reading its values gave.
public struct CheckedManifest: Sendable {
    public let manifest: Manifest
    /// One per declared secret, in manifest order; empty when values were skipped.
    public let values: [ValueResolution]
    /// The manifest's text as read.
    let bytes: [UInt8]

    /// SHA-256 of the manifest's bytes, in hex: what a saved plan was made from.
    public var digest: String { SHA256Digest.hex(of: bytes) }
}

/// A declared secret and what reading its value gave.
public struct ValueResolution: Sendable {
    public let declaration: SecretDeclaration
    public let result: Result<SecretValue, ValueProblem>
}

extension Manifest {
    /// Reads every secret's value. Each source is read once, even when fanned out to many
    /// accounts.
    public func resolveValues(environment: Environment) -> [ValueResolution] {
        let resolver = ValueResolver(environment: environment, directory: directory)
        var results: [ValueSource: Result<SecretValue, ValueProblem>] = [:]
        return secrets.map { secret in
            let result = results[secret.source] ?? resolver.resolve(secret.source)
            results[secret.source] = result
            return ValueResolution(declaration: secret, result: result)
        }
    }
}

extension [ValueResolution] {
    /// One diagnostic per `value:` whose source could not be read (fanned-out secrets share one).
    public var diagnostics: [Diagnostic] {
        var reported: Set<SourceLocation> = []
        return compactMap { resolution in
            guard case .failure(let problem) = resolution.result,
                reported.insert(resolution.declaration.valueLocation).inserted
            else { return nil }
            return Diagnostic(problem.message, at: resolution.declaration.valueLocation)
        }
    }
}
