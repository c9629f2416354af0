import Foundation
import SecretsModel
import StripeAPI

/// A request as the emulator sees it.
struct EmulatorRequest: Sendable {
    let method: String
    let path: String
    let query: String
    /// Names lowercased.
    let headers: [String: String]
    let body: String
}

/// Stripe's Secret Store behaviour: validation and errors as the API answers them,
/// create-or-replace, the 10-per-scope cap, expiry, pagination, `expand`, idempotency.
struct SecretStoreAPI: Sendable {
    static let maxLength = 5000

    let store: SecretStore
    let now: @Sendable () -> Int64
    /// Well-formed keys to refuse as expired (a fault option).
    var revokedKeys: Set<String> = []
    /// Well-formed keys that may not read values (a fault option).
    var payloadlessKeys: Set<String> = []
    /// Secrets one scope may hold: Stripe's 10, or more to rehearse long listings.
    var scopeLimit = StripeLimits.secretsPerScope

    func respond(to request: EmulatorRequest) -> EmulatorResponse {
        if request.method == "POST", request.headers["idempotency-key"] == nil { store.count { $0.keylessPosts += 1 } }
        let livemode: Bool, key: String
        switch authenticate(request.headers["authorization"]) {
        case .success(let caller): (livemode, key) = caller
        case .failure(let response): return response
        }
        let partition = SecretStore.Partition(livemode: livemode, account: request.headers["stripe-account"])
        let endpoint: Endpoint
        switch (request.method, request.path) {
        case ("POST", "/v1/apps/secrets"): endpoint = .upsert
        case ("GET", "/v1/apps/secrets/find"): endpoint = .find
        case ("GET", "/v1/apps/secrets"): endpoint = .list
        case ("POST", "/v1/apps/secrets/delete"): endpoint = .delete
        default:
            return .error(
                404,
                message:
                    "Unrecognized request URL (\(request.method): \(request.path)). Please see https://stripe.com/docs."
            )
        }
        if request.method == "GET", !request.body.isEmpty {
            return .error(400, message: "GET requests take their parameters in the query string, not a body.")
        }
        guard
            let pairs = FormEncoding.decode(
                request.query + (request.query.isEmpty || request.body.isEmpty ? "" : "&") + request.body)
        else {
            return .error(400, message: "The request body or query string is not valid form encoding.")
        }
        let params: Params
        switch Params.parse(pairs, allowed: endpoint.allowedParameters) {
        case .success(let parsed): params = parsed
        case .failure(let response): return response
        }
        if payloadlessKeys.contains(key), params.expand.contains(where: { $0 == "payload" || $0 == "data.payload" }) {
            return .error(
                403,
                message:
                    "The provided key '\(String(key.prefix(8)))****' does not have the required permissions to read secret payloads. Use a key with the secret read permission."
            )
        }
        guard request.method == "POST", let key = request.headers["idempotency-key"] else {
            return endpoint.handle(params, in: partition, api: self)
        }
        guard key.count <= 255 else {
            return .error(400, type: "idempotency_error", message: "Idempotency keys are at most 255 characters long.")
        }
        let fingerprint = request.path + "?" + params.canonical
        switch store.reserve(key, fingerprint: fingerprint, in: partition, now: now()) {
        case .replay(var earlier):
            earlier.headers.append(("Idempotent-Replayed", "true"))
            return earlier
        case .otherParameters:
            return .error(
                400, type: "idempotency_error",
                message:
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '\(key)' if you meant to execute a different request."
            )
        case .inFlight:
            return .error(
                409, type: "idempotency_error", code: "idempotency_key_in_use",
                message:
                    "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): \(key). Please try again later."
            )
        case .reserved:
            let response = endpoint.handle(params, in: partition, api: self)
            // Like Stripe, remember only requests that got past validation and ran.
            let ran = response.status < 400 || response.status == 404
            store.finish(key, response: ran ? response : nil, in: partition)
            return response
        }
    }

    /// 14 random letters and digits, for object and request ids.
    static func randomID() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        return String(decoding: (0..<14).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] }, as: UTF8.self)
    }

    /// Bearer or Basic auth with a well-formed key: whether it is live, and the key.
    private func authenticate(_ header: String?) -> Result<(Bool, String), EmulatorResponse> {
        guard let header, !header.isEmpty else {
            return .failure(
                .error(
                    401,
                    message:
                        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                ))
        }
        var key = ""
        let scheme = header.prefix { $0 != " " }.lowercased()
        let credentials = header.drop { $0 != " " }.drop { $0 == " " }
        if scheme == "bearer" {
            key = String(credentials)
        } else if scheme == "basic", let data = Data(base64Encoded: String(credentials)),
            let decoded = String(data: data, encoding: .utf8)
        {
            key = String(decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
        if revokedKeys.contains(key) {
            return .failure(
                .error(
                    401,
                    message: "Expired API Key provided: \(String(key.prefix(8)))****. Roll a new key in the Dashboard.")
            )
        }
        if let mode = APIKey.mode(ofKey: key) { return .success((mode == .live, key)) }
        // Like Stripe, show little of a bad key: its prefix and last four characters, if it is long.
        let masked = key.count >= 20 ? String(key.prefix(8)) + "****" + String(key.suffix(4)) : "****"
        return .failure(.error(401, message: "Invalid API Key provided: \(masked)"))
    }
}

/// The four endpoints.
private enum Endpoint {
    case upsert, find, list, delete

    var allowedParameters: Set<String> {
        switch self {
        case .upsert: ["name", "payload", "scope[type]", "scope[user]", "expires_at", "expand[]"]
        case .find: ["name", "scope[type]", "scope[user]", "expand[]"]
        case .list: ["scope[type]", "scope[user]", "limit", "starting_after", "ending_before", "expand[]"]
        case .delete: ["name", "scope[type]", "scope[user]", "expand[]"]
        }
    }

    func handle(_ params: Params, in partition: SecretStore.Partition, api: SecretStoreAPI) -> EmulatorResponse {
        switch self {
        case .upsert: upsert(params, partition, api)
        case .find: find(params, partition, api)
        case .list: list(params, partition, api)
        case .delete: delete(params, partition, api)
        }
    }

    private func upsert(_ params: Params, _ partition: SecretStore.Partition, _ api: SecretStoreAPI) -> EmulatorResponse
    {
        let name: String, payload: String, scope: SecretStore.Scope
        switch (params.named(expanding: ["payload", "scope"]), params.text("payload", required: true)) {
        case (.failure(let error), _), (_, .failure(let error)): return error
        case (.success(let target), .success(let value?)): ((name, scope), payload) = (target, value)
        case (.success, .success(nil)):
            return .error(400, message: "Missing required param: payload.", param: "payload")
        }
        var expiresAt: Int64?
        if let text = params.values["expires_at"] {
            guard let value = Int64(text) else {
                return .error(
                    400, code: "parameter_invalid_integer", message: "Invalid integer: \(text)", param: "expires_at")
            }
            guard value > api.now() else {
                return .error(400, message: "expires_at must be in the future.", param: "expires_at")
            }
            expiresAt = value
        }
        let now = api.now()
        return api.store.withSecrets(in: partition, now: now) { scopes, nextSequence in
            var secrets = scopes[scope] ?? [:]
            if var existing = secrets[Array(name.utf8)] {
                existing.payload = payload
                existing.expiresAt = expiresAt
                secrets[Array(name.utf8)] = existing
            } else {
                guard secrets.count < api.scopeLimit else {
                    return .error(
                        400,
                        message:
                            "This scope already holds the maximum of \(api.scopeLimit) secrets. Delete one before adding another.",
                        param: "name")
                }
                secrets[Array(name.utf8)] = SecretStore.Secret(
                    id: "appsecret_" + SecretStoreAPI.randomID() + SecretStoreAPI.randomID(), name: name, scope: scope,
                    payload: payload, expiresAt: expiresAt,
                    created: now, sequence: nextSequence())
            }
            scopes[scope] = secrets
            guard let stored = secrets[Array(name.utf8)] else {
                return .error(500, type: "api_error", message: "The secret was not stored.")
            }
            return .json(200, Self.object(stored, livemode: partition.livemode, payload: params.expands("payload")))
        }
    }

    private func find(_ params: Params, _ partition: SecretStore.Partition, _ api: SecretStoreAPI) -> EmulatorResponse {
        let name: String, scope: SecretStore.Scope
        switch params.named(expanding: ["payload", "scope"]) {
        case .success(let target): (name, scope) = target
        case .failure(let error): return error
        }
        return api.store.withSecrets(in: partition, now: api.now()) { scopes, _ in
            guard let secret = scopes[scope]?[Array(name.utf8)] else { return Self.noSuchSecret(name) }
            return .json(200, Self.object(secret, livemode: partition.livemode, payload: params.expands("payload")))
        }
    }

    private func list(_ params: Params, _ partition: SecretStore.Partition, _ api: SecretStoreAPI) -> EmulatorResponse {
        let scope: SecretStore.Scope
        switch params.scope() {
        case .success(let s): scope = s
        case .failure(let error): return error
        }
        if let error = params.expansionError(allowed: ["data.payload", "data.scope"]) { return error }
        var limit = 10
        if let text = params.values["limit"] {
            guard let value = Int(text) else {
                return .error(
                    400, code: "parameter_invalid_integer", message: "Invalid integer: \(text)", param: "limit")
            }
            guard (1...100).contains(value) else {
                return .error(400, message: "Invalid limit: must be between 1 and 100", param: "limit")
            }
            limit = value
        }
        let after = params.values["starting_after"], before = params.values["ending_before"]
        if after != nil, before != nil {
            return .error(400, message: "You may only specify one of these parameters: ending_before, starting_after.")
        }
        return api.store.withSecrets(in: partition, now: api.now()) { scopes, _ in
            let all = (scopes[scope] ?? [:]).values.sorted { ($0.created, $0.sequence) > ($1.created, $1.sequence) }
            var page: ArraySlice<SecretStore.Secret>
            var hasMore: Bool
            if let cursor = after ?? before {
                guard let index = all.firstIndex(where: { $0.id == cursor }) else {
                    return .error(
                        400, code: "resource_missing", message: "No such secret: '\(cursor)'",
                        param: after != nil ? "starting_after" : "ending_before")
                }
                if after != nil {
                    page = all[(index + 1)...].prefix(limit)
                    hasMore = index + 1 + page.count < all.count
                } else {
                    page = all[..<index].suffix(limit)
                    hasMore = page.startIndex > 0
                }
            } else {
                page = all.prefix(limit)
                hasMore = all.count > limit
            }
            let data = page.map {
                Self.object($0, livemode: partition.livemode, payload: params.expands("data.payload"))
            }
            return .json(200, ["object": "list", "data": data, "has_more": hasMore, "url": "/v1/apps/secrets"])
        }
    }

    private func delete(_ params: Params, _ partition: SecretStore.Partition, _ api: SecretStoreAPI) -> EmulatorResponse
    {
        let name: String, scope: SecretStore.Scope
        switch params.named(expanding: ["payload", "scope"]) {
        case .success(let target): (name, scope) = target
        case .failure(let error): return error
        }
        return api.store.withSecrets(in: partition, now: api.now()) { scopes, _ in
            guard let secret = scopes[scope]?.removeValue(forKey: Array(name.utf8)) else {
                return Self.noSuchSecret(name)
            }
            var object = Self.object(secret, livemode: partition.livemode, payload: params.expands("payload"))
            object["deleted"] = true
            return .json(200, object)
        }
    }

    private static func noSuchSecret(_ name: String) -> EmulatorResponse {
        .error(404, code: "resource_missing", message: "No such secret: '\(name)'", param: "name")
    }

    private static func object(_ secret: SecretStore.Secret, livemode: Bool, payload: Bool) -> [String: Any] {
        var scope: [String: Any] = ["type": secret.scope.type]
        if let user = secret.scope.user { scope["user"] = user }
        var object: [String: Any] = [
            "id": secret.id, "object": "apps.secret", "created": secret.created, "livemode": livemode,
            "name": secret.name, "scope": scope, "expires_at": secret.expiresAt.map { $0 as Any } ?? NSNull(),
        ]
        if payload { object["payload"] = secret.payload }
        return object
    }
}

/// A request's parameters, checked against what an endpoint accepts.
private struct Params {
    var values: [String: String] = [:]
    var expand: [String] = []

    /// Every parameter, encoded and in canonical order, for comparing idempotent requests.
    var canonical: String {
        var form = FormEncoding()
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { form.append(key, value) }
        for value in expand.sorted() { form.append("expand[]", value) }
        return form.encoded
    }

    static func parse(_ pairs: [(key: String, value: String)], allowed: Set<String>) -> Result<Params, EmulatorResponse>
    {
        var params = Params()
        for (key, value) in pairs {
            // Arrays come as `expand[]=x` and, from Stripe's own libraries, as `expand[0]=x`.
            if key == "expand[]"
                || (key.hasPrefix("expand[") && key.hasSuffix("]") && Int(key.dropFirst(7).dropLast()) != nil)
            {
                guard allowed.contains("expand[]") else { return .failure(unknown(key)) }
                params.expand.append(value)
                continue
            }
            guard allowed.contains(key) else { return .failure(unknown(key)) }
            // Stripe reads an empty optional parameter as unset; required ones are checked later.
            if value.isEmpty, !["name", "payload", "scope[type]", "scope[user]"].contains(key) { continue }
            params.values[key] = value
        }
        return .success(params)
    }

    private static func unknown(_ key: String) -> EmulatorResponse {
        .error(400, code: "parameter_unknown", message: "Received unknown parameter: \(key)", param: key)
    }

    func expands(_ field: String) -> Bool {
        expand.contains(field)
    }

    func expansionError(allowed: Set<String>) -> EmulatorResponse? {
        guard let bad = expand.first(where: { !allowed.contains($0) }) else { return nil }
        return .error(400, message: "This property cannot be expanded (\(bad)).", param: "expand")
    }

    /// A string parameter: nil when absent and optional; errors for missing, empty or too long.
    func text(_ key: String, required: Bool) -> Result<String?, EmulatorResponse> {
        guard let value = values[key] else {
            return required
                ? .failure(
                    .error(400, code: "parameter_missing", message: "Missing required param: \(key).", param: key))
                : .success(nil)
        }
        if value.isEmpty {
            return .failure(
                .error(
                    400, code: "parameter_invalid_empty",
                    message:
                        "You passed an empty string for '\(key)'. We assume empty values are an attempt to unset a parameter; however '\(key)' cannot be unset. You should remove '\(key)' from your request or supply a non-empty value.",
                    param: key))
        }
        if value.unicodeScalars.count > SecretStoreAPI.maxLength {
            return .failure(
                .error(
                    400, code: "parameter_invalid_string_too_long",
                    message: "Invalid string: must be at most \(SecretStoreAPI.maxLength) characters", param: key))
        }
        return .success(value)
    }

    /// `name` and the scope, which find, upsert and delete all need, after checking `expand`.
    func named(expanding allowed: Set<String>) -> Result<(String, SecretStore.Scope), EmulatorResponse> {
        switch (text("name", required: true), scope()) {
        case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
        case (.success(let name?), .success(let scope)):
            if let error = expansionError(allowed: allowed) { return .failure(error) }
            return .success((name, scope))
        case (.success(nil), _): return .failure(.error(400, message: "Missing required param: name.", param: "name"))
        }
    }

    /// `scope[type]` (account or user) and `scope[user]`, which a user scope needs and an
    /// account scope must not have.
    func scope() -> Result<SecretStore.Scope, EmulatorResponse> {
        guard let type = values["scope[type]"] else {
            return .failure(
                .error(400, code: "parameter_missing", message: "Missing required param: scope.", param: "scope"))
        }
        switch type {
        case "account":
            guard values["scope[user]"] == nil else {
                return .failure(
                    .error(
                        400, message: "scope[user] may only be set when scope[type] is user.", param: "scope[user]"))
            }
            return .success(SecretStore.Scope(type: "account", user: nil))
        case "user":
            switch text("scope[user]", required: true) {
            case .success(let user?): return .success(SecretStore.Scope(type: "user", user: user))
            case .success(nil):
                return .failure(.error(400, message: "Missing required param: scope[user].", param: "scope[user]"))
            case .failure(let error): return .failure(error)
            }
        default:
            return .failure(
                .error(
                    400, code: "parameter_invalid", message: "Invalid scope[type]: must be one of account or user",
                    param: "scope[type]"))
        }
    }
}
