import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SecretsModel

/// The four Secret Store calls, over a pooled HTTP client, with Stripe's conventions: form
/// bodies, Bearer auth, a pinned `Stripe-Version`, `Stripe-Account` for connected accounts,
/// `Idempotency-Key` on writes, retries and a client-side rate limit.
public final class SecretStoreClient: Sendable {
    /// The API version the requests are written for.
    public static let defaultStripeVersion = "2024-06-20"

    public struct Configuration: Sendable {
        public var baseURL: BaseURL
        public var apiKey: APIKey
        public var stripeVersion: String
        public var userAgent: String
        public var connectTimeout: TimeAmount
        public var requestTimeout: TimeAmount
        public var retry: RetryPolicy
        /// Requests per second; nil for the mode's limit (25 test, 100 live).
        public var rateLimit: Double?

        public init(
            baseURL: BaseURL, apiKey: APIKey, stripeVersion: String = SecretStoreClient.defaultStripeVersion,
            userAgent: String, connectTimeout: TimeAmount = .seconds(10), requestTimeout: TimeAmount = .seconds(30),
            retry: RetryPolicy = RetryPolicy(), rateLimit: Double? = nil
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.stripeVersion = stripeVersion
            self.userAgent = userAgent
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.retry = retry
            self.rateLimit = rateLimit
        }

        /// The rate in force: the configured one, or Stripe's limit for the key's mode.
        public var effectiveRateLimit: Double {
            rateLimit ?? (apiKey.mode == .live ? 100 : 25)
        }
    }

    public let configuration: Configuration
    private let settings: HTTPClient.Configuration
    /// Made for the first call: a run that sends none (a no-op apply) starts no event loop.
    private let pooled = NIOLockedValueBox<HTTPClient?>(nil)
    private let limiter: RateLimiter
    /// Shared by every call: once the API is taken to be down, no call retries or starts.
    private let outage: OutageDetector

    public init(configuration: Configuration) {
        self.configuration = configuration
        var settings = HTTPClient.Configuration(
            timeout: .init(connect: configuration.connectTimeout, read: configuration.requestTimeout))
        settings.httpVersion = .http1Only
        // Never follow a redirect: it would resend the body (the payload) to another host,
        // perhaps over plain http. Stripe does not redirect API calls.
        settings.redirectConfiguration = .disallow
        // Our own retries (RetryPolicy) cover a failed connection, a few seconds in all; the pool's
        // would keep trying until the connect timeout, for every request in turn.
        settings.connectionPool.retryConnectionEstablishment = false
        self.settings = settings
        limiter = RateLimiter(perSecond: configuration.effectiveRateLimit)
        outage = OutageDetector(requestTimeout: .nanoseconds(configuration.requestTimeout.nanoseconds))
    }

    /// Closes the pooled connections. Call once, when done.
    public func shutdown() async {
        try? await pooled.withLockedValue { $0 }?.shutdown()
    }

    /// The pooled HTTP client, made at the first call.
    private var http: HTTPClient {
        pooled.withLockedValue { client in
            if let client { return client }
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
            client = made
            return made
        }
    }

    // MARK: The calls

    /// `POST /v1/apps/secrets`: creates the secret, or replaces it with a new value.
    public func upsert(
        name: String, scope: SecretScope, account: String?, payload: SecretValue, expiresAt: Int64?,
        idempotencyKey: String
    ) async throws(StripeError) -> SecretObject {
        var form = FormEncoding()
        form.append("name", name)
        form.append("payload", payload.plaintext)
        Self.append(scope, to: &form)
        if let expiresAt { form.append("expires_at", String(expiresAt)) }
        let secret = try await send(
            .POST, "/v1/apps/secrets", form, account: account, idempotencyKey: idempotencyKey,
            hiding: payload.plaintext, as: SecretObject.self)
        if let problem = secret.problem(answering: name, in: scope, mode: configuration.apiKey.mode) {
            throw .mismatchedAnswer(problem, requestID: nil)
        }
        return secret
    }

    /// `POST /v1/apps/secrets/delete`: true when deleted, false when it was already gone (404).
    public func delete(name: String, scope: SecretScope, account: String?, idempotencyKey: String)
        async throws(StripeError) -> Bool
    {
        var form = FormEncoding()
        form.append("name", name)
        Self.append(scope, to: &form)
        let answer: SecretObject
        do {
            answer = try await send(
                .POST, "/v1/apps/secrets/delete", form, account: account, idempotencyKey: idempotencyKey,
                hiding: nil, as: SecretObject.self)
        } catch {
            if error.isNoSuchSecret { return false }
            throw error
        }
        guard answer.object == "apps.secret", SecretObject.isSecretID(answer.id), answer.deleted == true else {
            throw .mismatchedAnswer("it does not say the secret was deleted", requestID: nil)
        }
        return true
    }

    /// `GET /v1/apps/secrets/find`: the secret, or nil when there is none (404). With
    /// `expandPayload`, an error's message and param are withheld: they could quote the value,
    /// which the tool cannot recognise, not having sent it.
    public func find(name: String, scope: SecretScope, account: String?, expandPayload: Bool)
        async throws(StripeError) -> SecretObject?
    {
        var form = FormEncoding()
        form.append("name", name)
        Self.append(scope, to: &form)
        if expandPayload { form.append("expand[]", "payload") }
        do {
            return try await send(
                .GET, "/v1/apps/secrets/find", form, account: account, hiding: nil, readsValue: expandPayload,
                as: SecretObject.self)
        } catch {
            if error.isNoSuchSecret { return nil }
            throw error
        }
    }

    /// How many secrets a page of a listing is asked for.
    public static let pageLimit = 100

    /// The most of an answer that is read; a longer one is refused unread, never retried.
    static let maxAnswerBytes = 8 << 20

    /// `GET /v1/apps/secrets`, one page of up to `pageLimit`: a scope's secrets newest first,
    /// from after the secret `startingAfter` (an id) when given.
    public func listPage(scope: SecretScope, account: String?, startingAfter: String?)
        async throws(StripeError) -> SecretListPage
    {
        var form = FormEncoding()
        Self.append(scope, to: &form)
        form.append("limit", String(Self.pageLimit))
        if let startingAfter { form.append("starting_after", startingAfter) }
        return try await send(.GET, "/v1/apps/secrets", form, account: account, hiding: nil, as: SecretListPage.self)
    }

    private static func append(_ scope: SecretScope, to form: inout FormEncoding) {
        switch scope {
        case .account:
            form.append("scope[type]", "account")
        case .user(let user):
            form.append("scope[type]", "user")
            form.append("scope[user]", user)
        }
    }

    // MARK: Sending, with retries

    private func send<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, _ form: FormEncoding, account: String?, idempotencyKey: String? = nil,
        hiding secret: String?, readsValue: Bool = false, as: Answer.Type
    ) async throws(StripeError) -> Answer {
        var attempt = 0
        var lastFailure: String?
        // A call that gets no answer at all gives up twice the request timeout after its first
        // attempt was sent (not while it waited for the rate limiter), so a silent server costs
        // a bounded time, not every retry's full timeout.
        var giveUp: ContinuousClock.Instant?
        while true {
            attempt += 1
            await limiter.acquire()
            // Once the API is taken to be down, neither a retry nor a new call is sent.
            if outage.isDown() { throw .transport(lastFailure ?? "not sent: \(address) stopped answering other calls") }
            let sent = outage.attempting()
            let deadline = giveUp ?? sent + .nanoseconds(2 * configuration.requestTimeout.nanoseconds)
            giveUp = deadline
            let outcome = await attemptOnce(method, path, form, account: account, idempotencyKey: idempotencyKey)
            if case .transportFailure = outcome { outage.failed(sentAt: sent) } else { outage.answered() }
            let retryable: Bool
            var retryAfter: Double?
            switch outcome {
            case .answer(let status, let headers, let body):
                if (200..<300).contains(status) {
                    // No key twice: another reader of the same answer must not see other values.
                    guard (try? StrictJSON.check(Array(body), shape: .any)) != nil,
                        let answer = try? JSONDecoder().decode(Answer.self, from: body)
                    else {
                        throw .unreadableResponse(
                            status: status, requestID: headers.first(name: "Request-Id").flatMap(Self.plainRequestID))
                    }
                    return answer
                }
                let error = Self.apiError(
                    status: status, headers: headers, body: body,
                    // The key's secret part only: Stripe's own messages show its prefix and last four.
                    hiding: [secret, String(configuration.apiKey.secret.dropFirst(8))].compactMap { $0 },
                    withholding: readsValue)
                // A 429 is a rate limit unless Stripe says the object was locked (`lock_timeout`):
                // that one is retried at full speed, as it says nothing about the rate.
                if status == 429, !error.isLockTimeout { await limiter.slowDown() }
                let shouldRetry = headers.first(name: "Stripe-Should-Retry").map { $0.lowercased() == "true" }
                retryable = RetryPolicy.shouldRetry(status: status, stripeShouldRetry: shouldRetry)
                retryAfter = headers.first(name: "Retry-After").flatMap(Double.init)
                guard retryable, attempt < configuration.retry.maxAttempts, !Task.isCancelled else { throw error }
            case .tooLarge(let status, let headers):
                // The same answer would come again: not retried.
                throw .unreadableResponse(
                    status: status, requestID: headers.first(name: "Request-Id").flatMap(Self.plainRequestID))
            case .transportFailure(let reason):
                lastFailure = reason
                guard attempt < configuration.retry.maxAttempts, ContinuousClock.now < deadline, !Task.isCancelled,
                    !outage.isDown()
                else { throw .transport(reason) }
            }
            try? await Task.sleep(for: .seconds(configuration.retry.delay(after: attempt, retryAfter: retryAfter)))
        }
    }

    /// The API's host and port, as transport errors name it.
    private var address: String { "\(configuration.baseURL.host):\(configuration.baseURL.port)" }

    private enum Outcome {
        case answer(status: Int, headers: HTTPHeaders, body: Data)
        /// An answer longer than `maxAnswerBytes`.
        case tooLarge(status: Int, headers: HTTPHeaders)
        case transportFailure(String)
    }

    private func attemptOnce(
        _ method: HTTPMethod, _ path: String, _ form: FormEncoding, account: String?, idempotencyKey: String?
    ) async -> Outcome {
        let encoded = form.encoded
        let base = configuration.baseURL.description
        var request = HTTPClientRequest(
            url: method == .GET && !encoded.isEmpty ? "\(base)\(path)?\(encoded)" : base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey.secret)")
        request.headers.add(name: "Stripe-Version", value: configuration.stripeVersion)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        request.headers.add(name: "Accept", value: "application/json")
        if let account { request.headers.add(name: "Stripe-Account", value: account) }
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: encoded))
        }
        // One deadline for the whole exchange, the body included: a server that trickles its
        // answer a byte at a time is cut off like one that never answers.
        let http = http
        let timeout = configuration.requestTimeout
        let prepared = request
        do {
            return try await withThrowingTaskGroup(of: Outcome?.self) { group in
                group.addTask {
                    let response = try await http.execute(prepared, timeout: timeout)
                    let status = Int(response.status.code)
                    do {
                        let body = try await response.body.collect(upTo: Self.maxAnswerBytes)
                        return .answer(status: status, headers: response.headers, body: Data(body.readableBytesView))
                    } catch is NIOTooManyBytesError {
                        return .tooLarge(status: status, headers: response.headers)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let outcome = first else {
                    return .transportFailure(
                        "no whole answer within \(timeout.nanoseconds / 1_000_000_000) s (\(self.address))")
                }
                return outcome
            }
        } catch {
            return .transportFailure("\(Self.describe(error)) (\(address))")
        }
    }

    /// Stripe's error JSON as a typed error. Nothing in it is taken as given: `type`, `code` and
    /// the request id are kept only in Stripe's own shapes (`invalid_request_error`,
    /// `req_8yX…`); a message or param that quotes one of `secrets` (the payload sent, the key),
    /// in any case or in part, is withheld, and with `withholding` any message or param (the
    /// answer to a read of a value); anything after a key prefix is masked, and control, bidi and
    /// line-break characters are escaped, so that the text cannot fake a line of output.
    static func apiError(
        status: Int, headers: HTTPHeaders, body: Data, hiding secrets: [String], withholding: Bool = false
    ) -> StripeError {
        let requestID = headers.first(name: "Request-Id").flatMap(Self.plainRequestID)
        guard let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: body) else {
            return .unreadableResponse(status: status, requestID: requestID)
        }
        func clean(_ text: String?) -> String? {
            guard let text else { return nil }
            if withholding { return "(withheld: an answer to a read of a value)" }
            if secrets.contains(where: { Self.quotes(text, $0) }) { return "(withheld: it quoted the request)" }
            return TerminalText.safe(APIKey.maskingKeys(in: String(text.prefix(1000))))
        }
        let error = envelope.error
        return .api(
            APIError(
                status: status, type: error.type.flatMap(Self.plainWord), code: error.code.flatMap(Self.plainWord),
                message: clean(error.message), param: clean(error.param), requestID: requestID))
    }

    /// Whether `text` holds `secret`, or 8 characters of it in a row, ignoring case.
    static func quotes(_ text: String, _ secret: String) -> Bool {
        guard !secret.isEmpty else { return false }
        let haystack = Array(text.lowercased().unicodeScalars)
        let needle = Array(secret.lowercased().unicodeScalars)
        let window = min(8, needle.count)
        guard haystack.count >= window else { return false }
        var pieces = Set<[Unicode.Scalar]>()
        for start in 0...(needle.count - window) { pieces.insert(Array(needle[start..<start + window])) }
        for start in 0...(haystack.count - window) where pieces.contains(Array(haystack[start..<start + window])) {
            return true
        }
        return false
    }

    /// A type or code as Stripe writes them: 1 to 64 lowercase letters, digits and `_`.
    private static func plainWord(_ text: String) -> String? {
        guard (1...64).contains(text.utf8.count),
            text.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") })
        else { return nil }
        return text
    }

    /// A request id as Stripe writes them: `req_` and 1 to 64 letters and digits.
    private static func plainRequestID(_ text: String) -> String? {
        SecretAddress.isStripeID(text, prefix: "req_") && text.utf8.count <= 68 ? text : nil
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError, let failure = error.connectionErrors.first {
            return describe(failure.error)
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connection timed out"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the connection was closed before an answer"
            default: return String(describing: error)
            }
        }
        return String(describing: error)
    }
}
