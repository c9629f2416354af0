import SecretsModel

/// Stripe's `apps.secret` object. Every field but `id` and `object` may be absent (a delete
/// answers `{"id", "object", "deleted": true}`); `payload` only when expanded.
public struct SecretObject: Decodable, Sendable {
    public let id: String
    public let object: String
    public let name: String?
    public let scope: Scope?
    public let expiresAt: Int64?
    public let created: Int64?
    public let livemode: Bool?
    public let deleted: Bool?
    /// The value, only when asked for with `expand[]=payload`; redacted when printed.
    public let payload: SecretValue?

    public struct Scope: Decodable, Sendable, Equatable {
        public let type: String
        public let user: String?
    }

    enum CodingKeys: String, CodingKey {
        case id, object, name, scope, created, livemode, deleted, payload
        case expiresAt = "expires_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        object = try container.decode(String.self, forKey: .object)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        scope = try container.decodeIfPresent(Scope.self, forKey: .scope)
        expiresAt = try container.decodeIfPresent(Int64.self, forKey: .expiresAt)
        created = try container.decodeIfPresent(Int64.self, forKey: .created)
        livemode = try container.decodeIfPresent(Bool.self, forKey: .livemode)
        deleted = try container.decodeIfPresent(Bool.self, forKey: .deleted)
        payload = try container.decodeIfPresent(String.self, forKey: .payload).map(SecretValue.init)
    }
}

extension SecretObject {
    /// Why this object cannot be the answer to a call on `name` in `scope` with a key of `mode`;
    /// nil when it can. Names no value from the answer, only the field that is wrong.
    public func problem(answering name: String, in scope: SecretScope, mode: StripeMode) -> String? {
        guard object == "apps.secret" else { return "its object is not apps.secret" }
        guard Self.isSecretID(id) else { return "its id is not an appsecret_ id" }
        guard let answered = self.name, answered.hasSameBytes(as: name) else { return "it names another secret" }
        guard let answeredScope = self.scope, answeredScope.matches(scope) else { return "it is in another scope" }
        guard let livemode, livemode == (mode == .live) else {
            return "it is in \(mode == .live ? "test" : "live") mode, or does not say"
        }
        return nil
    }

    /// `appsecret_` and ASCII letters and digits (255 bytes at most in all).
    public static func isSecretID(_ id: String) -> Bool {
        SecretAddress.isStripeID(id, prefix: "appsecret_")
    }
}

extension SecretObject.Scope {
    /// Whether this is `scope`, compared byte for byte.
    func matches(_ scope: SecretScope) -> Bool {
        switch scope {
        case .account: type == "account" && user == nil
        case .user(let expected): type == "user" && user.hasSameBytes(as: expected)
        }
    }
}

/// A page of `GET /v1/apps/secrets`.
public struct SecretListPage: Decodable, Sendable {
    public let data: [SecretObject]
    /// Whether more secrets follow the last one of `data`.
    public let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
    }
}

/// `{"error": {…}}`
struct ErrorEnvelope: Decodable {
    struct Body: Decodable {
        let type: String?
        let code: String?
        let message: String?
        let param: String?
    }

    let error: Body
}
