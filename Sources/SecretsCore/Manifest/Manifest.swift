import SecretsModel

/// Where a secret's value comes from. The manifest never holds a value itself.
public enum ValueSource: Hashable, Sendable, CustomStringConvertible {
    /// An environment variable's value, verbatim.
    case environment(String)
    /// A UTF-8 text file, relative to the manifest's folder unless absolute; one trailing
    /// newline is removed when `trimNewline` is true.
    case file(path: String, trimNewline: Bool)

    /// `env NAME` or `file PATH`: safe to show, it names the source and never the value.
    public var description: String {
        switch self {
        case .environment(let name): "env \(name)"
        case .file(let path, _): "file \(path)"
        }
    }
}

/// One secret the manifest says should exist, after `accounts:` fan-out.
public struct SecretDeclaration: Sendable {
    public let address: SecretAddress
    public let source: ValueSource
    /// Unix seconds, or nil for a secret that does not expire.
    public let expiresAt: Int64?
    /// `protect: true`: once applied, no plan may delete it until it is released.
    public let protect: Bool
    /// The secret's entry in the manifest.
    public let location: SourceLocation
    /// The `value:` node, where problems with the value are reported.
    public let valueLocation: SourceLocation

    public init(
        address: SecretAddress, source: ValueSource, expiresAt: Int64?, protect: Bool = false,
        location: SourceLocation, valueLocation: SourceLocation
    ) {
        self.address = address
        self.source = source
        self.expiresAt = expiresAt
        self.protect = protect
        self.location = location
        self.valueLocation = valueLocation
    }
}

/// A checked manifest (schema version 1): every declared secret, in manifest order.
public struct Manifest: Sendable {
    /// The manifest's path as the user gave it, for messages.
    public let path: String
    /// The folder that relative `file:` paths are read from.
    public let directory: String
    public let secrets: [SecretDeclaration]

    public init(path: String, directory: String, secrets: [SecretDeclaration]) {
        self.path = path
        self.directory = directory
        self.secrets = secrets
    }

    /// How many distinct scopes (per account) and accounts the secrets live in.
    /// Secrets of one scope mostly come together, so only a change of scope is hashed.
    public var footprint: (scopes: Int, accounts: Int) {
        var scopes = Set<ScopeKey>()
        var accounts = Set<String>()
        // A valid manifest has at least this many scopes.
        scopes.reserveCapacity(secrets.count / StripeLimits.secretsPerScope)
        for index in secrets.indices
        where index == 0 || !secrets[index].address.sharesScope(with: secrets[index - 1].address) {
            scopes.insert(secrets[index].address.scopeKey)
            accounts.insert(secrets[index].address.account ?? "")
        }
        return (scopes.count, accounts.count)
    }
}
