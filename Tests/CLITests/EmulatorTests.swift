import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The emulator over raw HTTP, as any Stripe client would see it.
@Suite struct EmulatorTests {
    let emulator: EmulatorProcess

    init() throws {
        emulator = try EmulatorProcess(arguments: [])
    }

    struct Answer {
        let status: Int
        let json: [String: Any]
        let headers: [AnyHashable: Any]

        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    }

    private func call(
        _ method: String, _ path: String, _ body: String = "", key: String? = "sk_test_emulatorTEST1",
        headers: [String: String] = [:]
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: emulator.url + path)!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if method == "POST" {
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.value(forHTTPHeaderField: "Request-Id")?.hasPrefix("req_") == true)
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return Answer(status: http.statusCode, json: json, headers: http.allHeaderFields)
    }

    private func create(
        _ name: String, payload: String = "v", scope: String = "scope%5Btype%5D=account", extra: String = ""
    )
        async throws -> Answer
    {
        try await call("POST", "/v1/apps/secrets", "name=\(name)&payload=\(payload)&\(scope)\(extra)")
    }

    @Test func createOrReplaceThenFindWithAndWithoutThePayload() async throws {
        let created = try await create("token", payload: "first")
        #expect(created.status == 200)
        #expect((created.json["id"] as? String)?.hasPrefix("appsecret_") == true)
        #expect(created.json["object"] as? String == "apps.secret")
        #expect(created.json["livemode"] as? Bool == false)
        #expect(created.json["payload"] == nil)
        let replaced = try await create("token", payload: "second")
        #expect(replaced.json["id"] as? String == created.json["id"] as? String)
        let plain = try await call("GET", "/v1/apps/secrets/find?name=token&scope%5Btype%5D=account")
        #expect(plain.json["payload"] == nil)
        for expand in ["expand%5B%5D=payload", "expand%5B0%5D=payload"] {
            let found = try await call("GET", "/v1/apps/secrets/find?name=token&scope%5Btype%5D=account&\(expand)")
            #expect(found.json["payload"] as? String == "second")
        }
    }

    @Test func badRequestsGetStripesErrors() async throws {
        let unknown = try await create("a", extra: "&colour=red")
        #expect(unknown.status == 400)
        #expect(unknown.error["code"] as? String == "parameter_unknown")
        #expect(unknown.error["param"] as? String == "colour")
        let missing = try await call("POST", "/v1/apps/secrets", "payload=x&scope%5Btype%5D=account")
        #expect(missing.status == 400)
        #expect(missing.error["message"] as? String == "Missing required param: name.")
        let empty = try await create("a", payload: "")
        #expect(empty.error["code"] as? String == "parameter_invalid_empty")
        let long = try await create(String(repeating: "n", count: 5001))
        #expect(long.status == 400)
        #expect(long.error["param"] as? String == "name")
        let badEnum = try await create("a", scope: "scope%5Btype%5D=team")
        #expect(badEnum.error["param"] as? String == "scope[type]")
        let userWithoutUser = try await create("a", scope: "scope%5Btype%5D=user")
        #expect(userWithoutUser.error["param"] as? String == "scope[user]")
        let accountWithUser = try await create("a", scope: "scope%5Btype%5D=account&scope%5Buser%5D=usr_1")
        #expect(accountWithUser.error["param"] as? String == "scope[user]")
        let past = try await create("a", extra: "&expires_at=1000")
        #expect(past.error["param"] as? String == "expires_at")
        let notFound = try await call("GET", "/v1/apps/secrets/find?name=nope&scope%5Btype%5D=account")
        #expect(notFound.status == 404)
        #expect(notFound.error["message"] as? String == "No such secret: 'nope'")
        let noKey = try await call("GET", "/v1/apps/secrets?scope%5Btype%5D=account", key: nil)
        #expect(noKey.status == 401)
        let badKey = try await call("GET", "/v1/apps/secrets?scope%5Btype%5D=account", key: "pk_test_123")
        #expect(badKey.status == 401)
        #expect(badKey.error["type"] as? String == "invalid_request_error")
    }

    @Test func aScopeHoldsAtMostTenSecrets() async throws {
        for index in 0..<10 { #expect(try await create("s\(index)").status == 200) }
        let eleventh = try await create("s10")
        #expect(eleventh.status == 400)
        #expect(try await create("s3", payload: "replaced").status == 200)
        #expect(try await create("s10", scope: "scope%5Btype%5D=user&scope%5Buser%5D=usr_1").status == 200)
    }

    @Test func listsAreNewestFirstAndPaginate() async throws {
        for index in 0..<7 { _ = try await create("p\(index)") }
        let first = try await call("GET", "/v1/apps/secrets?scope%5Btype%5D=account&limit=3&expand%5B%5D=data.payload")
        let names = (first.json["data"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names == ["p6", "p5", "p4"])
        #expect(first.json["has_more"] as? Bool == true)
        #expect((first.json["data"] as? [[String: Any]])?.first?["payload"] as? String == "v")
        let lastID = try #require((first.json["data"] as? [[String: Any]])?.last?["id"] as? String)
        let second = try await call("GET", "/v1/apps/secrets?scope%5Btype%5D=account&limit=10&starting_after=\(lastID)")
        #expect(
            (second.json["data"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } == [
                "p3", "p2", "p1", "p0",
            ])
        #expect(second.json["has_more"] as? Bool == false)
        let back = try await call("GET", "/v1/apps/secrets?scope%5Btype%5D=account&limit=2&ending_before=\(lastID)")
        #expect((back.json["data"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } == ["p6", "p5"])
    }

    @Test func idempotencyKeysReplayAndRefuseOtherParameters() async throws {
        let first = try await create("i", payload: "one", extra: "").json["id"] as? String
        let keyed = try await call(
            "POST", "/v1/apps/secrets", "name=k&payload=one&scope%5Btype%5D=account",
            headers: ["Idempotency-Key": "key-1"])
        let replay = try await call(
            "POST", "/v1/apps/secrets", "name=k&payload=one&scope%5Btype%5D=account",
            headers: ["Idempotency-Key": "key-1"])
        #expect(replay.json["id"] as? String == keyed.json["id"] as? String)
        #expect(replay.headers["Idempotent-Replayed"] as? String == "true")
        let mismatch = try await call(
            "POST", "/v1/apps/secrets", "name=k&payload=two&scope%5Btype%5D=account",
            headers: ["Idempotency-Key": "key-1"])
        #expect(mismatch.status == 400)
        #expect(mismatch.error["type"] as? String == "idempotency_error")
        #expect(first != nil)
        // A key first sent with a request that failed validation is never reused either.
        let invalid = try await call(
            "POST", "/v1/apps/secrets", "name=m&scope%5Btype%5D=account", headers: ["Idempotency-Key": "key-2"])
        #expect(invalid.status == 400)
        let reused = try await call(
            "POST", "/v1/apps/secrets", "name=m&payload=x&scope%5Btype%5D=account",
            headers: ["Idempotency-Key": "key-2"])
        #expect(reused.error["type"] as? String == "idempotency_error")

        let stats = try await call("GET", "/_emulator/stats", key: nil).json
        let counts = try #require(stats["idempotency"] as? [String: Int])
        #expect(counts == ["keyed_posts": 5, "keyless_posts": 1, "replays": 1, "violations": 2])
        let ids = try #require(stats["ids"] as? [String: String])
        #expect(ids["account/k"] == keyed.json["id"] as? String)
        #expect(ids.keys.sorted() == ["account/i", "account/k"])
    }

    @Test func modesAndConnectedAccountsHaveSeparateStores() async throws {
        _ = try await create("only_here")
        let find = "/v1/apps/secrets/find?name=only_here&scope%5Btype%5D=account"
        #expect(try await call("GET", find).status == 200)
        #expect(try await call("GET", find, key: "sk_live_emulatorLIVE1").status == 404)
        #expect(try await call("GET", find, headers: ["Stripe-Account": "acct_1Other"]).status == 404)
    }

    /// Every command starts by refusing core dumps (`StripeSecrets.start`): here the emulator's.
    @Test func theProcessWritesNoCoreFile() throws {
        let limits = try String(contentsOfFile: "/proc/\(emulator.process.processIdentifier)/limits", encoding: .utf8)
        let core = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        #expect(core.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"])
    }

    @Test func anExpiredSecretIsGone() async throws {
        // Five seconds ahead (the emulator refuses a past expiry), so a slow request still lands.
        let soon = Int(Date().timeIntervalSince1970) + 5
        #expect(try await create("brief", extra: "&expires_at=\(soon)").status == 200)
        let find = "/v1/apps/secrets/find?name=brief&scope%5Btype%5D=account"
        let deadline = ContinuousClock.now + .seconds(30)
        var status = try await call("GET", find).status
        while status == 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            status = try await call("GET", find).status
        }
        #expect(status == 404)
        #expect(Int(Date().timeIntervalSince1970) >= soon)
    }

    @Test func namesAreComparedByTheirBytes() async throws {
        let composed = try await create("caf%C3%A9", payload: "one")
        let decomposed = try await create("cafe%CC%81", payload: "two")
        #expect(composed.json["id"] as? String != decomposed.json["id"] as? String)
    }

    @Test func deleteAnswersDeletedThenNoSuchSecret() async throws {
        _ = try await create("d")
        let deleted = try await call("POST", "/v1/apps/secrets/delete", "name=d&scope%5Btype%5D=account")
        #expect(deleted.json["deleted"] as? Bool == true)
        let again = try await call("POST", "/v1/apps/secrets/delete", "name=d&scope%5Btype%5D=account")
        #expect(again.status == 404)
    }
}
