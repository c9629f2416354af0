import Foundation
import NIOHTTP1
import SecretsModel
import Testing
@testable import StripeAPI

@Suite struct FormEncodingTests {
    @Test func encodesBracketsAndEveryReservedByte() {
        var form = FormEncoding()
        form.append("scope[type]", "user")
        form.append("scope[user]", "usr_123")
        form.append("expand[]", "payload")
        form.append("name", "a b&c=d/é+%")
        #expect(
            form.encoded
                == "scope%5Btype%5D=user&scope%5Buser%5D=usr_123&expand%5B%5D=payload&name=a%20b%26c%3Dd%2F%C3%A9%2B%25"
        )
    }

    @Test func decodingUndoesEncodingAndReadsPlusAsSpace() throws {
        var form = FormEncoding()
        form.append("payload", "line1\nline2 ✓ ~-._")
        form.append("scope[type]", "account")
        let decoded = try #require(FormEncoding.decode(form.encoded))
        #expect(decoded.map(\.key) == ["payload", "scope[type]"])
        #expect(decoded.map(\.value) == ["line1\nline2 ✓ ~-._", "account"])
        #expect(FormEncoding.decode("a=b+c&scope[type]=user")?.map(\.value) == ["b c", "user"])
        #expect(FormEncoding.decode("a=%ZZ") == nil)
        #expect(FormEncoding.decode("a=%FF") == nil)
    }
}

@Suite struct ErrorDecodingTests {
    @Test func stripesErrorJSONBecomesATypedError() {
        var headers = HTTPHeaders()
        headers.add(name: "Request-Id", value: "req_123")
        let body = Data(
            #"{"error":{"type":"invalid_request_error","code":"parameter_missing","message":"Missing required param: name.","param":"name"}}"#
                .utf8)
        let error = SecretStoreClient.apiError(status: 400, headers: headers, body: body, hiding: [])
        #expect(
            error
                == .api(
                    APIError(
                        status: 400, type: "invalid_request_error", code: "parameter_missing",
                        message: "Missing required param: name.",
                        param: "name", requestID: "req_123")))
        #expect(
            error.description
                == "Stripe 400 invalid_request_error (parameter_missing): Missing required param: name. (param: name) (req_123)"
        )
    }

    @Test func aPayloadEchoedInAMessageIsBlanked() {
        let body = Data(#"{"error":{"type":"invalid_request_error","message":"Invalid string: hunter2-canary"}}"#.utf8)
        let error = SecretStoreClient.apiError(
            status: 400, headers: HTTPHeaders(), body: body, hiding: ["hunter2-canary"])
        #expect(!error.description.contains("hunter2"))
        #expect(error.description.contains("(withheld: it quoted the request)"))
    }

    @Test func aPayloadOrKeyEchoedAnywhereInAnyCaseOrInPartNeverShows() {
        var headers = HTTPHeaders()
        headers.add(name: "Request-Id", value: "req_hunter2-canary-value")
        let body = Data(
            #"{"error":{"type":"hunter2-canary-value","code":"Bearer sk_test_canaryKEY0123456789","message":"HUNTER2-CANARY-VALU","param":"canary-va"}}"#
                .utf8)
        let error = SecretStoreClient.apiError(
            status: 400, headers: headers, body: body, hiding: ["hunter2-canary-value", "canaryKEY0123456789"])
        #expect(
            error
                == .api(
                    APIError(
                        status: 400, type: nil, code: nil, message: "(withheld: it quoted the request)",
                        param: "(withheld: it quoted the request)", requestID: nil)))
        #expect(!error.description.lowercased().contains("hunter2"))
        #expect(!error.description.contains("canaryKEY"))
    }

    @Test func keysInMessagesAreMasked() {
        let body = Data(
            #"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****6789"}}"#.utf8)
        let error = SecretStoreClient.apiError(
            status: 401, headers: HTTPHeaders(), body: body, hiding: ["canaryKEY0123456789"])
        #expect(error.description == "Stripe 401 invalid_request_error: Invalid API Key provided: sk_test_…")
        #expect(error.isAuthenticationFailure)
        #expect(!error.isNoSuchSecret)
    }

    @Test func onlyALockTimeoutIsA429ThatSaysNothingAboutTheRate() {
        func error(_ status: Int, _ code: String?) -> StripeError {
            .api(
                APIError(
                    status: status, type: "invalid_request_error", code: code, message: nil, param: nil, requestID: nil)
            )
        }
        #expect(error(429, "lock_timeout").isLockTimeout)
        #expect(!error(429, "rate_limit").isLockTimeout)
        #expect(!error(429, nil).isLockTimeout)
        #expect(!error(409, "lock_timeout").isLockTimeout)
        #expect(!StripeError.transport("reset").isLockTimeout)
    }

    @Test func onlyResourceMissingMeansNoSuchSecret() {
        let missing = SecretStoreClient.apiError(
            status: 404, headers: HTTPHeaders(),
            body: Data(
                #"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such secret: 'a'"}}"#
                    .utf8),
            hiding: [])
        let wrongURL = SecretStoreClient.apiError(
            status: 404, headers: HTTPHeaders(),
            body: Data(
                #"{"error":{"type":"invalid_request_error","message":"Unrecognized request URL (POST: /v2/x)."}}"#.utf8),
            hiding: [])
        #expect(missing.isNoSuchSecret)
        #expect(!wrongURL.isNoSuchSecret)
    }

    @Test func aBodyThatIsNotStripesJSONIsSaidToBeSo() {
        let error = SecretStoreClient.apiError(
            status: 502, headers: HTTPHeaders(), body: Data("<html>".utf8), hiding: [])
        #expect(error == .unreadableResponse(status: 502, requestID: nil))
    }
}

@Suite struct ConnectionTests {
    @Test(arguments: [
        ("https://api.stripe.com", "https://api.stripe.com"), ("http://127.0.0.1:12111/", "http://127.0.0.1:12111"),
        ("http://localhost:8080", "http://localhost:8080"), ("http://[::1]:9000", "http://[::1]:9000"),
    ])
    func acceptedBaseURLs(text: String, shown: String) throws {
        #expect(try BaseURL(text).description == shown)
    }

    @Test func plainHTTPOffLoopbackIsRefused() {
        #expect(
            throws: BaseURL.Problem(
                description: "refusing to send the API key over plain http to example.com; use https")
        ) {
            try BaseURL("http://example.com")
        }
        #expect(throws: BaseURL.Problem.self) { try BaseURL("http://10.0.0.1:80") }
        #expect(throws: BaseURL.Problem.self) { try BaseURL("ftp://api.stripe.com") }
        #expect(throws: BaseURL.Problem.self) { try BaseURL("https://api.stripe.com/v1") }
        // A key or password put in the URL by mistake is never repeated.
        for text in [
            "https://sk_test_canary123@api.stripe.com", "http://user:canaryPASS@127.0.0.1:1", "sk_test_canary123",
        ] {
            #expect {
                try BaseURL(text)
            } throws: { error in
                !"\(error)".contains("canary")
            }
        }
    }

    @Test func keysTellTheirModeAndNeverPrint() throws {
        let key = try APIKey("sk_live_canaryCANARY123\n")
        #expect(key.mode == .live)
        #expect("\(key)" == "sk_live_…")
        #expect(String(reflecting: key) == "sk_live_…")
        #expect(try APIKey("rk_test_abc").mode == .test)
        #expect(try APIKey("sk_test_abc\r\n").mode == .test)  // a key file saved on Windows
        #expect(throws: APIKey.Problem.self) { try APIKey("pk_test_abc") }
        #expect(throws: APIKey.Problem.self) { try APIKey("sk_test_") }
        #expect(throws: APIKey.Problem.self) { try APIKey("sk_test_abc%") }
    }

    @Test func retriesFollowStripesRules() {
        #expect(RetryPolicy.shouldRetry(status: 429, stripeShouldRetry: nil))
        #expect(RetryPolicy.shouldRetry(status: 409, stripeShouldRetry: nil))
        #expect(RetryPolicy.shouldRetry(status: 503, stripeShouldRetry: nil))
        #expect(!RetryPolicy.shouldRetry(status: 400, stripeShouldRetry: nil))
        #expect(!RetryPolicy.shouldRetry(status: 500, stripeShouldRetry: false))
        #expect(RetryPolicy.shouldRetry(status: 400, stripeShouldRetry: true))
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 0.5, maxDelay: 5)
        #expect((0.375...0.625).contains(policy.delay(after: 1, retryAfter: nil)))
        #expect((3.75...6.25).contains(policy.delay(after: 10, retryAfter: nil)))
        #expect(policy.delay(after: 1, retryAfter: 7) == 7)
    }
}
