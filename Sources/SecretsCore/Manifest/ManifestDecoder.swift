import SecretsModel
import StrictYAML

/// Schema version 1: turns a strict YAML tree into declared secrets, reporting every problem.
///
/// Messages about a value never quote it. `now` (unix seconds) decides which `expires_at`
/// values are already past.
struct ManifestDecoder {
    static let supportedVersion = 1
    static let maxSecretsPerScope = StripeLimits.secretsPerScope

    private static let topLevelKeys = ["version", "defaults", "secrets"]
    private static let defaultsKeys = ["account", "scope", "protect"]
    private static let secretKeys = ["name", "value", "scope", "account", "accounts", "expires_at", "protect"]
    private static let valueKeys = ["env", "file", "trim_newline"]
    private static let scopeKeys = ["type", "user"]

    /// What `defaults:` gives each secret that does not say.
    struct Defaults {
        var account: String?
        var scope: SecretScope = .account
        var protect = false
    }

    private var reader: SchemaReader
    private let now: Int64

    init(file: String, now: Int64) {
        reader = SchemaReader(file: file)
        self.now = now
    }

    /// The declarations in manifest text, and every diagnostic (YAML problems included).
    ///
    /// `ManifestFastPath` reads a manifest without problems, without a tree; the tree is built
    /// only when it gives up (always with `fastPath: false`, which tests compare it with), and
    /// is gone when this returns.
    static func decode(_ bytes: [UInt8], limits: ParseLimits, file: String, now: Int64, fastPath: Bool = true)
        -> (secrets: [SecretDeclaration], diagnostics: [Diagnostic])
    {
        var decoder = ManifestDecoder(file: file, now: now)
        let secrets: [SecretDeclaration]
        if fastPath, let read = ManifestFastPath.secrets(in: bytes, limits: limits, file: file, now: now) {
            secrets = read
        } else {
            let document = StrictYAMLParser.parse(bytes, limits: limits)
            for problem in document.problems { decoder.reader.report(problem.message, at: problem.mark) }
            let fatal = document.root == nil && !document.problems.isEmpty
            secrets = fatal ? [] : decoder.decodeRoot(document.root)
        }
        decoder.checkUniqueness(secrets)
        return (secrets, decoder.reader.diagnostics)
    }

    private mutating func decodeRoot(_ root: Node?) -> [SecretDeclaration] {
        let start = Mark(line: 1, column: 1)
        guard let root, !root.isNullScalar else {
            reader.report("the manifest is empty; it needs 'version: 1' and a 'secrets:' list", at: start)
            return []
        }
        guard let top = reader.mapping(root, "the manifest") else { return [] }
        let fields = reader.fields(of: top, allowed: Self.topLevelKeys, in: "at the top level")
        if let version = fields["version"] {
            checkVersion(version)
        } else {
            reader.report("missing 'version: 1' at the top level", at: top.mark)
        }
        let defaults = fields["defaults"].map { decodeDefaults($0) } ?? Defaults()
        guard let list = fields["secrets"] else {
            reader.report("missing 'secrets', the list of secrets to manage", at: top.mark)
            return []
        }
        guard let items = reader.sequence(list, "'secrets'") else { return [] }
        var secrets: [SecretDeclaration] = []
        secrets.reserveCapacity(items.items.count)
        for item in items.items { decodeSecret(item, defaults: defaults, into: &secrets) }
        return secrets
    }

    private mutating func checkVersion(_ node: Node) {
        guard case .scalar(let scalar) = node, scalar.style == .plain, !scalar.isNull,
            scalar.value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else {
            if case .invalid = node { return }
            reader.report("'version' must be the number \(Self.supportedVersion)", at: node.mark)
            return
        }
        if Int(scalar.value) != Self.supportedVersion {
            reader.report(
                "manifest version \(scalar.value) is not supported; this stripe-secrets reads version \(Self.supportedVersion)",
                at: node.mark)
        }
    }

    private mutating func decodeDefaults(_ node: Node) -> Defaults {
        var defaults = Defaults()
        guard let mapping = reader.mapping(node, "'defaults'") else { return defaults }
        let fields = reader.fields(of: mapping, allowed: Self.defaultsKeys, in: "in defaults")
        if let account = fields["account"] { defaults.account = accountID(account, "'account'") }
        if let scope = fields["scope"], let decoded = decodeScope(scope) { defaults.scope = decoded }
        if let protect = fields["protect"], let decoded = reader.boolean(protect, "'protect'") {
            defaults.protect = decoded
        }
        return defaults
    }

    private mutating func decodeSecret(
        _ node: Node, defaults: Defaults, into secrets: inout [SecretDeclaration]
    ) {
        guard let mapping = reader.mapping(node, "each secret") else { return }
        let nameNode = mapping.entries.first { $0.key.value == "name" }?.value
        let name = nameNode.flatMap { decodeName($0) }
        if nameNode == nil { reader.report("secret is missing 'name'", at: mapping.mark) }
        let fields = reader.fields(of: mapping, allowed: Self.secretKeys, in: "in \(Self.label(name))")

        let source: ValueSource?
        if let value = fields["value"] {
            source = decodeValue(value, name: name)
        } else {
            reader.report("\(Self.label(name)) is missing 'value'; \(Self.sourceHint)", at: mapping.mark)
            source = nil
        }
        let scope = fields["scope"].map { decodeScope($0) } ?? defaults.scope
        let accounts = decodeAccounts(fields, default: defaults.account)
        let expiresAt = fields["expires_at"].map { decodeExpiry($0) } ?? .some(nil)
        let protect = fields["protect"].map { reader.boolean($0, "'protect'") } ?? defaults.protect

        guard let name, let source, let scope, let accounts, let expiresAt, let protect else { return }
        let location = reader.location(mapping.mark)
        let valueLocation = reader.location(fields["value"]?.mark ?? mapping.mark)
        for account in accounts {
            secrets.append(
                SecretDeclaration(
                    address: SecretAddress(account: account, scope: scope, name: name),
                    source: source, expiresAt: expiresAt, protect: protect, location: location,
                    valueLocation: valueLocation))
        }
    }

    /// The variables stripe-secrets reads its own credentials from: never a secret's value,
    /// so that a manifest line cannot hand the deployment's key to the app.
    static let toolCredentials: Set<String> = ["STRIPE_API_KEY", "PGPASSWORD", "STRIPE_SECRETS_FINGERPRINT_KEY"]

    private static let pastedHint =
        "put the value in an environment variable or a file and name that here (it is not shown)"

    private static let sourceHint =
        "reference an environment variable ({env: NAME}) or a file ({file: PATH})"

    private mutating func decodeName(_ node: Node) -> String? {
        guard let scalar = reader.text(node, "'name'") else { return nil }
        let name = scalar.value
        switch SecretAddress.nameProblem(name) {
        case nil: return name
        case .empty: reader.report("'name' must not be empty", at: node.mark)
        case .tooLong(let length):
            reader.report("'name' is \(length.grouped) characters; Stripe allows at most 5,000", at: node.mark)
        case .invisibleCharacter:
            reader.report(
                "'name' contains an invisible or control character (such as a tab, newline or zero-width space); use printable characters",
                at: node.mark)
        }
        return nil
    }

    /// How messages name a secret: by its name when it has a valid one.
    private static func label(_ name: String?) -> String {
        name.map { "secret '\($0)'" } ?? "this secret"
    }

    private mutating func decodeValue(_ node: Node, name: String?) -> ValueSource? {
        switch node {
        case .scalar(let scalar) where scalar.isNull:
            reader.report("\(Self.label(name)) has an empty 'value'; \(Self.sourceHint)", at: node.mark)
            return nil
        case .scalar:
            reader.report(
                "\(Self.label(name)) has its value written inline; secret values must never be in the manifest: \(Self.sourceHint)",
                at: node.mark)
            return nil
        default:
            break
        }
        guard let mapping = reader.mapping(node, "'value'") else { return nil }
        // A key here may be a value pasted in by mistake (`value: {hunter2}`): never quote it.
        let fields = reader.fields(
            of: mapping, allowed: Self.valueKeys, in: "in the value of \(Self.label(name))", quotingKeys: false)
        switch (fields["env"], fields["file"]) {
        case (nil, nil):
            reader.report("the value of \(Self.label(name)) needs a source: 'env' or 'file'", at: mapping.mark)
            return nil
        case (.some, .some):
            reader.report("the value of \(Self.label(name)) has both 'env' and 'file'; keep one", at: mapping.mark)
            return nil
        case (.some(let env), nil):
            if let trim = fields.entry("trim_newline") {
                reader.report("'trim_newline' applies to 'file' values only; remove it", at: trim.key.mark)
                return nil
            }
            guard let variable = reader.text(env, "'env'") else { return nil }
            guard !CredentialShape.matches(variable.value) else {
                reader.report(
                    "'env' holds what looks like a secret, not a variable name; \(Self.pastedHint)", at: env.mark)
                return nil
            }
            guard Self.isVariableName(variable.value) else {
                reader.report(
                    "'env' must name an environment variable: letters, digits and '_', not starting with a digit",
                    at: env.mark)
                return nil
            }
            guard !Self.toolCredentials.contains(variable.value) else {
                reader.report(
                    "'env' names \(variable.value), a credential of stripe-secrets itself, which would be stored in "
                        + "Stripe where the app can read it; give the secret a variable of its own", at: env.mark)
                return nil
            }
            return .environment(variable.value)
        case (nil, .some(let file)):
            let trim = fields["trim_newline"].map { reader.boolean($0, "'trim_newline'") } ?? .some(true)
            guard let path = reader.text(file, "'file'") else { return nil }
            guard !CredentialShape.matches(path.value, lengthCounts: false) else {
                reader.report("'file' holds what looks like a secret, not a path; \(Self.pastedHint)", at: file.mark)
                return nil
            }
            if path.value.isEmpty {
                reader.report("'file' must be a path", at: file.mark)
                return nil
            }
            // The system would read the path only up to the NUL: another file than the one named.
            if path.value.utf8.contains(0) {
                reader.report(
                    "'file' holds a NUL character, where the path would end early (the file read would not be "
                        + "the one named); remove it", at: file.mark)
                return nil
            }
            guard let trim else { return nil }
            return .file(path: path.value, trimNewline: trim)
        }
    }

    /// Letters, digits and `_`, not starting with a digit (ASCII only).
    static func isVariableName(_ name: String) -> Bool {
        func check(_ bytes: some Collection<UInt8>) -> Bool {
            guard let first = bytes.first, !(48...57).contains(first) else { return false }
            return bytes.allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 95
            }
        }
        // A native string's bytes are contiguous: checking the buffer is several times faster.
        return name.utf8.withContiguousStorageIfAvailable(check) ?? check(name.utf8)
    }

    private mutating func decodeScope(_ node: Node) -> SecretScope? {
        let types = "account, user"
        if case .scalar(let scalar) = node, !scalar.isNull {
            switch scalar.value {
            case "account": return .account
            case "user":
                reader.report("a user scope needs the user: write {type: user, user: usr_…}", at: node.mark)
            default:
                reader.report("\(SchemaReader.naming("scope", scalar.value)) is not one of: \(types)", at: node.mark)
            }
            return nil
        }
        guard let mapping = reader.mapping(node, "'scope'") else { return nil }
        let fields = reader.fields(of: mapping, allowed: Self.scopeKeys, in: "in scope")
        guard let typeNode = fields["type"] else {
            reader.report("scope needs 'type': account or user", at: mapping.mark)
            return nil
        }
        guard let type = reader.text(typeNode, "scope 'type'") else { return nil }
        switch type.value {
        case "account":
            if let user = fields.entry("user") {
                reader.report("an account scope takes no 'user'; remove it, or use type: user", at: user.key.mark)
                return nil
            }
            return .account
        case "user":
            guard let userNode = fields["user"] else {
                reader.report("a user scope needs 'user: usr_…'", at: mapping.mark)
                return nil
            }
            guard let user = reader.text(userNode, "'user'") else { return nil }
            guard SecretAddress.isStripeID(user.value, prefix: "usr_") else {
                reader.report("'user' must be a Stripe user id like usr_OkDR2bKzwpXu3s", at: userNode.mark)
                return nil
            }
            return .user(user.value)
        default:
            reader.report(
                "\(SchemaReader.naming("scope type", type.value)) is not one of: \(types)", at: typeNode.mark)
            return nil
        }
    }

    /// The accounts a secret fans out to: `account`, `accounts`, or the default (nil: own account).
    private mutating func decodeAccounts(_ fields: Fields, default defaultAccount: String?) -> [String?]? {
        switch (fields["account"], fields.entry("accounts")) {
        case (.some, .some(let accounts)):
            reader.report("'account' and 'accounts' are mutually exclusive; keep one", at: accounts.key.mark)
            return nil
        case (.some(let account), nil):
            return accountID(account, "'account'").map { [$0] }
        case (nil, .some(let entry)):
            let list = entry.value
            guard let sequence = reader.sequence(list, "'accounts'") else { return nil }
            if sequence.items.isEmpty {
                reader.report("'accounts' is empty; list at least one acct_… id, or remove it", at: list.mark)
                return nil
            }
            var seen: [String: Mark] = [:]
            var accounts: [String?] = []
            var valid = true
            for item in sequence.items {
                guard let id = accountID(item, "each of 'accounts'") else { valid = false; continue }
                if let first = seen[id] {
                    reader.report("'accounts' lists \(id) twice (first at \(first))", at: item.mark)
                    valid = false
                }
                seen[id] = seen[id] ?? item.mark
                accounts.append(id)
            }
            return valid ? accounts : nil
        case (nil, nil):
            return [defaultAccount]
        }
    }

    private mutating func accountID(_ node: Node, _ what: String) -> String? {
        guard let scalar = reader.text(node, what) else { return nil }
        guard SecretAddress.isStripeID(scalar.value, prefix: "acct_") else {
            reader.report("\(what) must be a Stripe account id like acct_1Nv0FGQ9RKHgCVdK", at: node.mark)
            return nil
        }
        return scalar.value
    }

    /// `.some(seconds)` for a valid future expiry, nil after reporting a problem.
    private mutating func decodeExpiry(_ node: Node) -> Int64?? {
        guard let scalar = reader.text(node, "'expires_at'") else { return nil }
        let seconds =
            scalar.style == .plain
            ? Timestamp.parseUnixSeconds(scalar.value) ?? Timestamp.parseRFC3339(scalar.value)
            : Timestamp.parseRFC3339(scalar.value)
        if let seconds, seconds > Timestamp.latest {
            reader.report("'expires_at' is after the year 9999; write a nearer time", at: node.mark)
            return nil
        }
        guard let seconds else {
            let why = Timestamp.problem(with: scalar.value, plain: scalar.style == .plain).map { " (it \($0))" } ?? ""
            reader.report(
                "'expires_at' must be an RFC 3339 time with an offset, like 2027-06-30T00:00:00Z, or whole unix seconds"
                    + why,
                at: node.mark)
            return nil
        }
        guard seconds > now else {
            reader.report(
                "'expires_at' \(Timestamp.format(seconds)) is not in the future; Stripe would delete the secret at once",
                at: node.mark)
            return nil
        }
        return .some(seconds)
    }

    /// Each (account, scope, name) once, and at most 10 secrets in each scope.
    ///
    /// Names are kept per scope, where at most ten live, so a scan beats hashing each address;
    /// a scope past its cap is reported once and not tracked further. Secrets of one scope
    /// mostly come together, so the scope of the one before is tried before the hash.
    private mutating func checkUniqueness(_ secrets: [SecretDeclaration]) {
        var indexOfScope: [ScopeKey: Int] = [:]
        var scopes: [ScopeNames] = []
        // A valid manifest has at least this many scopes.
        indexOfScope.reserveCapacity(secrets.count / Self.maxSecretsPerScope)
        scopes.reserveCapacity(secrets.count / Self.maxSecretsPerScope)
        var scope = 0
        for index in secrets.indices {
            let address = secrets[index].address
            if index == 0 || !address.sharesScope(with: secrets[index - 1].address) {
                let key = address.scopeKey
                if let known = indexOfScope[key] {
                    scope = known
                } else {
                    scope = scopes.count
                    indexOfScope[key] = scope
                    scopes.append(ScopeNames())
                }
            }
            switch scopes[scope].add(index, in: secrets) {
            case .added:
                break
            case .duplicate(let first):
                let secret = secrets[index]
                reader.report(
                    Diagnostic(
                        "secret '\(secret.address.name)' is declared twice in scope \(secret.address.scopeDescription) "
                            + "(first at \(secrets[first].location.position))",
                        at: secret.location))
            case .overCap:
                let secret = secrets[index]
                reader.report(
                    Diagnostic(
                        "scope \(secret.address.scopeDescription) gets an 11th secret here; "
                            + "Stripe allows at most \(Self.maxSecretsPerScope) secrets per scope",
                        at: secret.location))
            }
        }
    }
}

/// The names declared in one scope, by their index in the declarations. A valid scope holds at
/// most 10, which a scan handles best; an over-full one switches to an index.
private struct ScopeNames {
    enum Outcome {
        case added
        /// The name is taken, by the declaration at this index.
        case duplicate(Int)
        /// Added as the 11th: one over Stripe's cap.
        case overCap
    }

    private var indices: [Int] = []
    private var byName: [KeyBytes: Int] = [:]

    mutating func add(_ index: Int, in secrets: [SecretDeclaration]) -> Outcome {
        let name = secrets[index].address.name
        let first =
            byName.isEmpty
            ? indices.first { secrets[$0].address.name.hasSameBytes(as: name) }
            : byName[KeyBytes(name)]
        if let first { return .duplicate(first) }
        if indices.isEmpty { indices.reserveCapacity(ManifestDecoder.maxSecretsPerScope) }
        indices.append(index)
        if !byName.isEmpty {
            byName[KeyBytes(name)] = index
        } else if indices.count > 16 {
            for declared in indices { byName[KeyBytes(secrets[declared].address.name)] = declared }
        }
        return indices.count == ManifestDecoder.maxSecretsPerScope + 1 ? .overCap : .added
    }
}

extension Node {
    fileprivate var isNullScalar: Bool {
        if case .scalar(let scalar) = self { return scalar.isNull }
        return false
    }
}
