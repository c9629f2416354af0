import Foundation
import NIOConcurrencyHelpers

/// The emulator's memory: one store per (mode, `Stripe-Account`), each a set of scopes of at
/// most 10 secrets, plus the remembered results of idempotent requests.
final class SecretStore: Sendable {
    struct Secret {
        let id: String
        var name: String
        var scope: Scope
        var payload: String
        var expiresAt: Int64?
        let created: Int64
        /// Creation order, to break ties between secrets created in the same second.
        let sequence: Int
    }

    struct Scope: Hashable {
        let type: String
        let user: String?

        /// `account` or `user:usr_…`, as in an address.
        var addressPart: String { user.map { "user:\($0)" } ?? type }
    }

    /// Which store a request reaches: test or live, and the connected account (nil: own).
    struct Partition: Hashable {
        let livemode: Bool
        let account: String?
    }

    /// What an idempotency key stands for: a request still running, or its answer.
    private struct Remembered {
        let fingerprint: String
        /// Nil while the first request runs.
        var response: EmulatorResponse?
        let since: Int64
    }

    /// What to do with a request that carries an idempotency key.
    enum Reservation {
        case reserved
        case replay(EmulatorResponse)
        case otherParameters
        case inFlight
    }

    /// Stripe keeps idempotency results for 24 hours.
    static let idempotencyWindow: Int64 = 24 * 3600

    /// What the emulator saw, for `GET /_emulator/stats`: campaigns check that a client never
    /// writes without an idempotency key nor reuses one for another request.
    struct Counters: Sendable {
        /// `/v1` requests received.
        var requests = 0
        /// POSTs that carried an `Idempotency-Key`.
        var keyedPosts = 0
        /// POSTs without one.
        var keylessPosts = 0
        /// Keyed POSTs answered from the remembered result (same key, same parameters).
        var replays = 0
        /// Keyed POSTs whose key was first used with other parameters (answered 400
        /// `idempotency_error`), however long ago and whatever that first request's answer.
        var violations = 0
        /// Requests answered with an injected 500 or 429 (`--fail-rate`).
        var injectedFailures = 0
        /// Requests carried out whose connection was then closed unanswered (`--drop-rate`).
        var droppedAnswers = 0
    }

    private struct Storage {
        /// Names are keyed by their UTF-8 bytes: Stripe does not merge `é` and `e\u{301}`.
        var secrets: [Partition: [Scope: [[UInt8]: Secret]]] = [:]
        var idempotency: [Partition: [String: Remembered]] = [:]
        /// The request each key was first used with, never forgotten: a reuse for another
        /// request is a violation even after the key's result is dropped.
        var firstUse: [Partition: [String: String]] = [:]
        var sequence = 0
        var counters = Counters()
    }

    private let storage = NIOLockedValueBox(Storage())

    /// Runs `body` with the secrets of one partition, expired ones already removed.
    func withSecrets<T>(
        in partition: Partition, now: Int64, _ body: (inout [Scope: [[UInt8]: Secret]], () -> Int) -> T
    ) -> T {
        storage.withLockedValue { storage in
            var scopes = storage.secrets[partition] ?? [:]
            for (scope, secrets) in scopes {
                scopes[scope] = secrets.filter { $0.value.expiresAt.map { $0 > now } ?? true }
            }
            let result = body(&scopes) {
                storage.sequence += 1
                return storage.sequence
            }
            storage.secrets[partition] = scopes
            return result
        }
    }

    /// Checks a key and claims it for this request, in one step, so two requests racing with
    /// one key cannot both run.
    func reserve(_ key: String, fingerprint: String, in partition: Partition, now: Int64) -> Reservation {
        storage.withLockedValue { storage in
            storage.counters.keyedPosts += 1
            if let first = storage.firstUse[partition]?[key], first != fingerprint {
                storage.counters.violations += 1
                return .otherParameters
            }
            storage.firstUse[partition, default: [:]][key] = fingerprint
            if let earlier = storage.idempotency[partition]?[key], now - earlier.since < Self.idempotencyWindow {
                guard earlier.fingerprint == fingerprint else { return .otherParameters }
                guard let response = earlier.response else { return .inFlight }
                storage.counters.replays += 1
                return .replay(response)
            }
            storage.idempotency[partition, default: [:]][key] = Remembered(
                fingerprint: fingerprint, response: nil, since: now)
            return .reserved
        }
    }

    /// Records the answer to a reserved key; nil forgets the key (the request did not run).
    func finish(_ key: String, response: EmulatorResponse?, in partition: Partition) {
        storage.withLockedValue { storage in
            if let response {
                storage.idempotency[partition]?[key]?.response = response
            } else {
                storage.idempotency[partition]?[key] = nil
            }
        }
    }

    /// Adds to the counters.
    func count(_ change: (inout Counters) -> Void) {
        storage.withLockedValue { change(&$0.counters) }
    }

    var counters: Counters {
        storage.withLockedValue { $0.counters }
    }

    /// Every secret held now, in every mode, account and scope, by address
    /// (`[acct_…/]account/NAME`, `user:usr_…/NAME`) with its id; expired ones left out.
    func ids(now: Int64) -> [String: String] {
        storage.withLockedValue { storage in
            var ids: [String: String] = [:]
            for (partition, scopes) in storage.secrets {
                for (scope, secrets) in scopes {
                    for secret in secrets.values where secret.expiresAt.map({ $0 > now }) ?? true {
                        let prefix = partition.account.map { "\($0)/" } ?? ""
                        ids[prefix + scope.addressPart + "/" + secret.name] = secret.id
                    }
                }
            }
            return ids
        }
    }
}

/// What the emulator answers. An `Error` too, so that a check's `Result` can carry the answer
/// that ends handling.
struct EmulatorResponse: Error, Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    static func json(_ status: Int, _ object: Any) -> EmulatorResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return EmulatorResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    /// Stripe's error shape.
    static func error(
        _ status: Int, type: String = "invalid_request_error", code: String? = nil, message: String,
        param: String? = nil
    ) -> EmulatorResponse {
        var error: [String: Any] = ["type": type, "message": message]
        if let code { error["code"] = code }
        if let param { error["param"] = param }
        return json(status, ["error": error])
    }
}
