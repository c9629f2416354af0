import SecretsModel
import StrictYAML

/// The common case without a tree: a manifest in which `ManifestDecoder` would find no problem,
/// read straight from strict YAML events, each key compared in place and only the text that is
/// kept made a `String`.
///
/// It gives up (nil) at the first thing it does not accept: any YAML problem, an unknown or
/// repeated key, any value the decoder would refuse. The decoder then reads the text itself,
/// so every diagnostic comes from the decoder alone, and the secrets given here are the ones
/// it would give (`ManifestFastPathTests` compares the two on generated and broken manifests).
final class ManifestFastPath {
    /// A secret before the defaults are known; nil fields were not given.
    private struct Entry {
        let name: String
        let source: ValueSource
        let scope: SecretScope?
        let account: String?
        let accounts: [String?]?
        let expiresAt: Int64?
        let protect: Bool?
        let mark: Mark
        let valueMark: Mark
    }

    private let events: StrictEvents
    private let file: String
    private let now: Int64
    /// The last account id read: secrets of one account mostly come together, and share it.
    private var lastAccount: String?

    private init(events: StrictEvents, file: String, now: Int64) {
        self.events = events
        self.file = file
        self.now = now
    }

    /// The declared secrets in manifest order, or nil when the decoder has to look.
    static func secrets(in bytes: [UInt8], limits: ParseLimits, file: String, now: Int64) -> [SecretDeclaration]? {
        StrictYAMLParser.withEvents(bytes, limits: limits) { events in
            events.flatMap { ManifestFastPath(events: $0, file: file, now: now).manifest() }
        }
    }

    private func manifest() -> [SecretDeclaration]? {
        guard case .mappingStart? = events.next() else { return nil }
        var version = false
        var defaults: ManifestDecoder.Defaults?
        var entries: [Entry]?
        let read = readMapping { key in
            if key.hasBytes("version"), !version {
                guard case .scalar(let value)? = events.next(), value.style == .plain, value.hasBytes("1") else {
                    return false
                }
                version = true
                return true
            }
            if key.hasBytes("defaults"), defaults == nil {
                defaults = readDefaults()
                return defaults != nil
            }
            if key.hasBytes("secrets"), entries == nil {
                entries = readSecrets()
                return entries != nil
            }
            return false
        }
        guard read, version, let entries, case .end? = events.next() else { return nil }
        let chosen = defaults ?? ManifestDecoder.Defaults()
        var secrets: [SecretDeclaration] = []
        secrets.reserveCapacity(entries.reduce(0) { $0 + ($1.accounts?.count ?? 1) })
        for entry in entries {
            let scope = entry.scope ?? chosen.scope
            let protect = entry.protect ?? chosen.protect
            let location = SourceLocation(file: file, mark: entry.mark)
            let valueLocation = SourceLocation(file: file, mark: entry.valueMark)
            func declare(in account: String?) {
                secrets.append(
                    SecretDeclaration(
                        address: SecretAddress(account: account, scope: scope, name: entry.name), source: entry.source,
                        expiresAt: entry.expiresAt, protect: protect, location: location, valueLocation: valueLocation))
            }
            if let accounts = entry.accounts {
                for account in accounts { declare(in: account) }
            } else {
                declare(in: entry.account ?? chosen.account)
            }
        }
        return secrets
    }

    /// Reads the entries of a mapping whose start was read: `entry` gets each key before its
    /// value is read (the key's bytes last until then) and reads the value, or refuses.
    private func readMapping(_ entry: (ScalarEvent) -> Bool) -> Bool {
        while true {
            switch events.next() {
            case .collectionEnd?: return true
            case .scalar(let key)?: if !entry(key) { return false }
            default: return false
            }
        }
    }

    private func readDefaults() -> ManifestDecoder.Defaults? {
        guard case .mappingStart? = events.next() else { return nil }
        var account: String?
        var scope: SecretScope?
        var protect: Bool?
        let read = readMapping { key in
            if key.hasBytes("account"), account == nil {
                account = readAccountID()
                return account != nil
            }
            if key.hasBytes("scope"), scope == nil {
                scope = readScope()
                return scope != nil
            }
            if key.hasBytes("protect"), protect == nil {
                protect = readBoolean()
                return protect != nil
            }
            return false
        }
        guard read else { return nil }
        return ManifestDecoder.Defaults(account: account, scope: scope ?? .account, protect: protect ?? false)
    }

    private func readSecrets() -> [Entry]? {
        guard case .sequenceStart? = events.next() else { return nil }
        var entries: [Entry] = []
        while true {
            switch events.next() {
            case .collectionEnd?: return entries
            case .mappingStart(let mark)?:
                guard let entry = readSecret(at: mark) else { return nil }
                entries.append(entry)
            default: return nil
            }
        }
    }

    private func readSecret(at mark: Mark) -> Entry? {
        var name: String?
        var source: (ValueSource, Mark)?
        var scope: SecretScope?
        var account: String?
        var accounts: [String?]?
        var expiresAt: Int64?
        var protect: Bool?
        let read = readMapping { key in
            if key.hasBytes("name"), name == nil {
                guard let text = readText(), SecretAddress.nameProblem(text) == nil else { return false }
                name = text
                return true
            }
            if key.hasBytes("value"), source == nil {
                source = readSource()
                return source != nil
            }
            if key.hasBytes("scope"), scope == nil {
                scope = readScope()
                return scope != nil
            }
            if key.hasBytes("account"), account == nil, accounts == nil {
                account = readAccountID()
                return account != nil
            }
            if key.hasBytes("accounts"), accounts == nil, account == nil {
                accounts = readAccounts()
                return accounts != nil
            }
            if key.hasBytes("expires_at"), expiresAt == nil {
                expiresAt = readExpiry()
                return expiresAt != nil
            }
            if key.hasBytes("protect"), protect == nil {
                protect = readBoolean()
                return protect != nil
            }
            return false
        }
        guard read, let name, let (source, valueMark) = source else { return nil }
        return Entry(
            name: name, source: source, scope: scope, account: account, accounts: accounts, expiresAt: expiresAt,
            protect: protect, mark: mark, valueMark: valueMark)
    }

    /// `{env: NAME}` or `{file: PATH}` (with `trim_newline`), and where it starts.
    private func readSource() -> (ValueSource, Mark)? {
        guard case .mappingStart(let mark)? = events.next() else { return nil }
        var env: String?
        var file: String?
        var trim: Bool?
        let read = readMapping { key in
            if key.hasBytes("env"), env == nil {
                env = readText()
                return env != nil
            }
            if key.hasBytes("file"), file == nil {
                file = readText()
                return file != nil
            }
            if key.hasBytes("trim_newline"), trim == nil {
                trim = readBoolean()
                return trim != nil
            }
            return false
        }
        guard read else { return nil }
        switch (env, file) {
        case (let variable?, nil):
            guard trim == nil, !CredentialShape.matches(variable), ManifestDecoder.isVariableName(variable),
                !ManifestDecoder.toolCredentials.contains(where: { $0 == variable })
            else { return nil }
            return (.environment(variable), mark)
        case (nil, let path?):
            guard !CredentialShape.matches(path, lengthCounts: false), !path.isEmpty, !path.utf8.contains(0) else {
                return nil
            }
            return (.file(path: path, trimNewline: trim ?? true), mark)
        default:
            return nil
        }
    }

    /// `account`, or `{type: account}`, or `{type: user, user: usr_…}`.
    private func readScope() -> SecretScope? {
        switch events.next() {
        case .scalar(let word)?:
            return !word.isNull && word.hasBytes("account") ? .account : nil
        case .mappingStart?:
            var isUser: Bool?
            var user: String?
            let read = readMapping { key in
                if key.hasBytes("type"), isUser == nil {
                    guard case .scalar(let type)? = events.next(), !type.isNull else { return false }
                    isUser = type.hasBytes("user") ? true : type.hasBytes("account") ? false : nil
                    return isUser != nil
                }
                if key.hasBytes("user"), user == nil {
                    user = readText()
                    return user != nil
                }
                return false
            }
            guard read, let isUser else { return nil }
            guard isUser else { return user == nil ? .account : nil }
            guard let user, SecretAddress.isStripeID(user, prefix: "usr_") else { return nil }
            return .user(user)
        default:
            return nil
        }
    }

    /// A non-empty list of distinct account ids.
    private func readAccounts() -> [String?]? {
        guard case .sequenceStart? = events.next() else { return nil }
        var accounts: [String?] = []
        // Lists are short: a scan finds a repeat, until one is long enough for a set.
        var seen: Set<String> = []
        while true {
            switch events.next() {
            case .collectionEnd?:
                return accounts.isEmpty ? nil : accounts
            case .scalar(let scalar)?:
                guard let id = accountID(scalar) else { return nil }
                if accounts.count == 16 { seen = Set(accounts.compactMap { $0 }) }
                let repeated = accounts.count < 16 ? accounts.contains { $0 == id } : !seen.insert(id).inserted
                guard !repeated else { return nil }
                accounts.append(id)
            default:
                return nil
            }
        }
    }

    /// A future time no later than the year 9999: RFC 3339, or plain unix seconds.
    private func readExpiry() -> Int64? {
        guard case .scalar(let scalar)? = events.next(), !scalar.isNull else { return nil }
        let text = scalar.string
        let seconds =
            scalar.style == .plain
            ? Timestamp.parseUnixSeconds(text) ?? Timestamp.parseRFC3339(text) : Timestamp.parseRFC3339(text)
        guard let seconds, seconds <= Timestamp.latest, seconds > now else { return nil }
        return seconds
    }

    private func readAccountID() -> String? {
        guard case .scalar(let scalar)? = events.next() else { return nil }
        return accountID(scalar)
    }

    /// A non-null scalar that is an `acct_…` id, as text.
    private func accountID(_ scalar: ScalarEvent) -> String? {
        guard !scalar.isNull, SecretAddress.isStripeID(utf8: scalar.bytes, prefix: "acct_") else { return nil }
        if let lastAccount, scalar.hasBytes(of: lastAccount) { return lastAccount }
        lastAccount = scalar.string
        return lastAccount
    }

    /// A scalar that is not null, as text whatever its style (`SchemaReader.text`'s rule).
    private func readText() -> String? {
        guard case .scalar(let scalar)? = events.next(), !scalar.isNull else { return nil }
        return scalar.string
    }

    /// A plain `true` or `false` in a core-schema spelling.
    private func readBoolean() -> Bool? {
        guard case .scalar(let word)? = events.next(), word.style == .plain else { return nil }
        if word.hasBytes("true") || word.hasBytes("True") || word.hasBytes("TRUE") { return true }
        if word.hasBytes("false") || word.hasBytes("False") || word.hasBytes("FALSE") { return false }
        return nil
    }
}
