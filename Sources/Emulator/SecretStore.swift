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
    }

    /// Which store a request reaches: test or live, and the connected account (nil: own).
    struct Partition: Hashable {
        let livemode: Bool
        let account: String?
    }

    struct Remembered {
        let fingerprint: String
        let response: EmulatorResponse
    }

    private struct Storage {
        var secrets: [Partition: [Scope: [String: Secret]]] = [:]
        var idempotency: [Partition: [String: Remembered]] = [:]
        var sequence = 0
        var requests = 0
    }

    private let storage = NIOLockedValueBox(Storage())

    /// Runs `body` with the secrets of one partition, expired ones already removed.
    func withSecrets<T>(
        in partition: Partition, now: Int64, _ body: (inout [Scope: [String: Secret]], () -> Int) -> T
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

    func remembered(_ key: String, in partition: Partition) -> Remembered? {
        storage.withLockedValue { $0.idempotency[partition]?[key] }
    }

    func remember(_ key: String, _ value: Remembered, in partition: Partition) {
        storage.withLockedValue { $0.idempotency[partition, default: [:]][key] = value }
    }

    /// Counts one `/v1` request; returns the count so far.
    @discardableResult
    func countRequest() -> Int {
        storage.withLockedValue {
            $0.requests += 1
            return $0.requests
        }
    }

    var requestCount: Int {
        storage.withLockedValue { $0.requests }
    }
}

/// What the emulator answers. An `Error` too, so that a check can end handling early with it.
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
