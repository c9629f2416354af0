import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SecretsModel

/// Faults to inject into `/v1` requests, to rehearse what a real network and Stripe do.
public struct FaultOptions: Sendable {
    /// Seconds added before each answer.
    public var latency: Double
    /// The fraction answered 500 `api_error`, or 429 with `Stripe-Should-Retry: true` (half each).
    public var failRate: Double
    /// The fraction whose connection is closed without an answer, after the request was carried out.
    public var dropRate: Double
    /// Requests in any sliding second beyond which the answer is 429 `rate_limit` (see `RateWindow`).
    public var rateLimit: Double?
    /// Keys answered 401 as if rolled in the Dashboard: rehearses a revoked key mid-deploy.
    public var revokedKeys: Set<String>
    /// Keys that may list, find, write and delete, but not read values: `expand[]=payload` is
    /// answered 403, as for a restricted key without that permission.
    public var payloadlessKeys: Set<String>
    /// Secrets one scope may hold: Stripe's 10 unless raised, to rehearse listings of many pages.
    public var scopeLimit: Int

    public init(
        latency: Double = 0, failRate: Double = 0, dropRate: Double = 0, rateLimit: Double? = nil,
        revokedKeys: Set<String> = [], payloadlessKeys: Set<String> = [], scopeLimit: Int = StripeLimits.secretsPerScope
    ) {
        self.latency = latency
        self.failRate = failRate
        self.dropRate = dropRate
        self.rateLimit = rateLimit
        self.revokedKeys = revokedKeys
        self.payloadlessKeys = payloadlessKeys
        self.scopeLimit = scopeLimit
    }
}

/// The Secret Store emulator: a real HTTP/1.1 server on SwiftNIO, in memory.
///
/// Serves `POST /v1/apps/secrets`, `GET /v1/apps/secrets/find`, `GET /v1/apps/secrets`,
/// `POST /v1/apps/secrets/delete`, and `GET /_emulator/stats` (no auth): `requests` counts the
/// `/v1` requests received, `rate_limited` those refused by `--rate-limit`, `secrets` lists every
/// secret held as addresses and `ids` gives each one's id; `idempotency` counts keyed and keyless
/// POSTs, replays and violations (a key reused with other parameters); `faults` counts the
/// injected failures and dropped answers.
public final class EmulatorServer: Sendable {
    public let host: String
    public let port: Int
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let api: SecretStoreAPI
    private let faults: FaultOptions
    private let window = NIOLockedValueBox(RateWindow())

    private init(
        channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        host: String, port: Int, faults: FaultOptions
    ) {
        self.channel = channel
        self.host = host
        self.port = port
        self.faults = faults
        api = SecretStoreAPI(
            store: SecretStore(), now: { Int64(Date().timeIntervalSince1970) }, revokedKeys: faults.revokedKeys,
            payloadlessKeys: faults.payloadlessKeys, scopeLimit: faults.scopeLimit)
    }

    /// Binds `host:port` (port 0 picks a free one).
    public static func bind(host: String, port: Int, faults: FaultOptions = FaultOptions()) async throws
        -> EmulatorServer
    {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
        let boundPort = channel.channel.localAddress?.port ?? port
        return EmulatorServer(channel: channel, host: host, port: boundPort, faults: faults)
    }

    /// `http://HOST:PORT`
    public var url: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }

    /// Serves connections until the process ends.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(var chunk):
                    guard body.readableBytes + chunk.readableBytes <= 1 << 20 else { return }
                    body.writeBuffer(&chunk)
                case .end:
                    guard let requestHead = head else { continue }
                    guard let response = await answer(requestHead, body: String(buffer: body)) else { return }
                    try await write(response, for: requestHead, to: outbound)
                    if !requestHead.isKeepAlive { return }
                }
            }
        }
    }

    /// The response, or nil to drop the connection unanswered.
    private func answer(_ head: HTTPRequestHead, body: String) async -> EmulatorResponse? {
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(target[0])
        let query = target.count > 1 ? String(target[1]) : ""
        if head.method == .GET, path == "/_emulator/stats" { return stats() }
        guard path.hasPrefix("/v1/") else {
            return .error(404, message: "Unrecognized request URL (\(head.method): \(path)).")
        }
        api.store.count { $0.requests += 1 }
        let refused = faults.rateLimit.map { limit in window.withLockedValue { $0.refuses(limit: limit) } } ?? false
        if faults.latency > 0 { try? await Task.sleep(for: .seconds(faults.latency)) }
        if refused {
            return .error(
                429, type: "invalid_request_error", code: "rate_limit",
                message: "Too many requests hit the API too quickly.")
        }
        if faults.failRate > 0, Double.random(in: 0..<1) < faults.failRate {
            api.store.count { $0.injectedFailures += 1 }
            if Bool.random() {
                var response = EmulatorResponse.error(
                    500, type: "api_error", message: "An unknown error occurred (injected).")
                response.headers.append(("Stripe-Should-Retry", "true"))
                return response
            }
            var response = EmulatorResponse.error(
                429, code: "lock_timeout", message: "This object cannot be accessed right now (injected).")
            response.headers.append(("Stripe-Should-Retry", "true"))
            return response
        }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let request = EmulatorRequest(
            method: head.method.rawValue, path: path, query: query, headers: headers, body: body)
        let response = api.respond(to: request)
        if faults.dropRate > 0, Double.random(in: 0..<1) < faults.dropRate {
            api.store.count { $0.droppedAnswers += 1 }
            return nil
        }
        return response
    }

    /// `GET /_emulator/stats`: what was received and what is held (see the type's comment).
    private func stats() -> EmulatorResponse {
        let counters = api.store.counters
        let ids = api.store.ids(now: Int64(time(nil)))
        return .json(
            200,
            [
                "requests": counters.requests, "rate_limited": window.withLockedValue { $0.refused },
                "secrets": ids.keys.sorted(), "ids": ids,
                "idempotency": [
                    "keyed_posts": counters.keyedPosts, "keyless_posts": counters.keylessPosts,
                    "replays": counters.replays, "violations": counters.violations,
                ],
                "faults": ["failed": counters.injectedFailures, "dropped": counters.droppedAnswers],
            ])
    }

    private func write(
        _ response: EmulatorResponse, for head: HTTPRequestHead,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Request-Id", value: "req_" + SecretStoreAPI.randomID())
        headers.add(name: "Content-Length", value: String(response.body.count))
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        try await outbound.write(.end(nil))
    }
}

/// The emulator's rate limit: at most ⌊limit⌋ requests accepted in any sliding second (a limit
/// below 1: one in any 1/limit seconds), counted on arrival (before `--latency`), so it is at
/// least as strict as a calendar second or a token bucket holding one second's burst. Refused
/// requests do not count against the window.
struct RateWindow {
    private var accepted: [ContinuousClock.Instant] = []
    private(set) var refused = 0

    mutating func refuses(limit: Double) -> Bool {
        let now = ContinuousClock.now
        let span = limit >= 1 ? Duration.seconds(1) : .seconds(1 / limit)
        accepted.removeFirst(accepted.prefix { $0 <= now - span }.count)
        guard accepted.count >= max(1, Int(limit)) else {
            accepted.append(now)
            return false
        }
        refused += 1
        return true
    }
}
