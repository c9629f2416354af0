/// A failed call, typed. Carries what Stripe said (type, code, message, param, request id),
/// never the payload or the key.
public enum StripeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stripe answered with an error status.
    case api(APIError)
    /// No usable answer: connection refused or dropped, timeout, TLS.
    case transport(String)
    /// An answer that is not the JSON Stripe sends.
    case unreadableResponse(status: Int, requestID: String?)
    /// A well-formed answer that does not answer the request (another name, scope or mode, a
    /// malformed id): never recorded.
    case mismatchedAnswer(String, requestID: String?)

    public var description: String {
        switch self {
        case .api(let error): error.description
        case .transport(let reason): "could not reach Stripe: \(reason)"
        case .unreadableResponse(let status, let requestID):
            "Stripe answered \(status) with a body that is not Stripe's JSON" + (requestID.map { " (\($0))" } ?? "")
        case .mismatchedAnswer(let problem, let requestID):
            "Stripe's answer does not match the request (\(problem)); it was not recorded"
                + (requestID.map { " (\($0))" } ?? "")
        }
    }

    /// Stripe's "No such secret" (404 `resource_missing`), as opposed to any other 404 (a wrong
    /// URL or a proxy's page), which must not be taken to mean the secret is gone.
    public var isNoSuchSecret: Bool {
        guard case .api(let error) = self else { return false }
        return error.status == 404 && error.code == "resource_missing"
    }

    /// A 429 that says another request held the object (`lock_timeout`), not that the rate was
    /// too high.
    public var isLockTimeout: Bool {
        guard case .api(let error) = self else { return false }
        return error.status == 429 && error.code == "lock_timeout"
    }

    /// The key was refused (401) or lacks permission (403): no later call can succeed either.
    public var isAuthenticationFailure: Bool {
        guard case .api(let error) = self else { return false }
        return error.status == 401 || error.status == 403
    }

    /// No answer at all, after every retry: the API is unreachable, so later calls would only
    /// wait out their own retries.
    public var isUnreachable: Bool {
        if case .transport = self { return true }
        return false
    }

    /// Stripe's request id, when there was an answer.
    public var requestID: String? {
        switch self {
        case .api(let error): error.requestID
        case .unreadableResponse(_, let id), .mismatchedAnswer(_, let id): id
        case .transport: nil
        }
    }
}

/// Stripe's error object (`{"error": {"type", "code", "message", "param"}}`) and its status.
public struct APIError: Equatable, Sendable, CustomStringConvertible {
    public let status: Int
    public let type: String?
    public let code: String?
    public let message: String?
    public let param: String?
    public let requestID: String?

    public init(status: Int, type: String?, code: String?, message: String?, param: String?, requestID: String?) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.requestID = requestID
    }

    /// `Stripe 400 invalid_request_error (parameter_missing): Missing required param: name. (param: name) (req_8yX…)`
    public var description: String {
        var text = "Stripe \(status) \(type ?? "error")"
        if let code { text += " (\(code))" }
        if let message { text += ": \(message)" }
        if let param { text += " (param: \(param))" }
        if let requestID { text += " (\(requestID))" }
        return text
    }
}
