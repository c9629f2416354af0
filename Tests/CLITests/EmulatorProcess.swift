import Foundation
import SecretsCore
import StripeAPI
import Testing

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension Pipe {
    /// The first line a child writes here (without its newline), waiting for it; empty when the
    /// child closes the pipe first.
    func firstLine() -> String {
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line.append(chunk)
        }
        return String(decoding: line, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }
}

/// The built binary's `emulator`, on a free loopback port, stopped when the value goes away.
final class EmulatorProcess: @unchecked Sendable {
    let process = Process()
    let url: String

    /// The files holding everything the emulator printed, when started with a `logFolder`.
    let logs: [String]

    /// Starts the emulator; with `logFolder`, its stdout and stderr go to files there (`logs`),
    /// kept for inspection, rather than being dropped after the first line.
    init(arguments options: [String], logFolder: String? = nil) throws {
        process.executableURL = BinaryRunner.executable
        process.arguments = ["emulator", "--port", "0"] + options
        let first: String
        if let logFolder {
            let name = "\(logFolder)/emulator-\(UUID().uuidString.prefix(8))"
            logs = [name + ".stdout", name + ".stderr"]
            let handles = try logs.map { path in
                guard FileManager.default.createFile(atPath: path, contents: nil),
                    let handle = FileHandle(forWritingAtPath: path)
                else { throw EmulatorError(message: "cannot create \(path)") }
                return handle
            }
            process.standardOutput = handles[0]
            process.standardError = handles[1]
            try process.run()
            first = Self.firstLine(ofFile: logs[0])
        } else {
            logs = []
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            first = out.firstLine()
        }
        guard first.hasPrefix("listening on http://127.0.0.1:") else {
            process.terminate()
            throw EmulatorError(message: "the emulator said '\(first)'")
        }
        url = String(first.dropFirst("listening on ".count))
    }

    /// The first line written to `path`, waiting up to 30 s for it.
    private static func firstLine(ofFile path: String) -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if let end = text.firstIndex(of: "\n") { return String(text[..<end]) }
            usleep(10_000)
        }
        return ""
    }

    struct EmulatorError: Error {
        let message: String
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Runs `body` with the emulator paused (SIGSTOP): a call in flight stays unanswered until
    /// it resumes, so a run caught in the middle of an apply stays there however slow `body` is.
    func paused<T>(_ body: () throws -> T) rethrows -> T {
        kill(process.processIdentifier, SIGSTOP)
        defer { kill(process.processIdentifier, SIGCONT) }
        return try body()
    }

    /// `/v1` requests the emulator has received so far.
    func requestCount() async throws -> Int {
        try await stat("requests")
    }

    /// A count from `/_emulator/stats`: `requests`, or `rate_limited` (refused by `--rate-limit`).
    func stat(_ name: String) async throws -> Int {
        let (data, _) = try await URLSession.shared.data(from: URL(string: url + "/_emulator/stats")!)
        let stats = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return try #require(stats?[name] as? Int)
    }

    /// What `/_emulator/stats` says, read without the shared thread pool (for synchronous tests).
    func statsBlocking() throws -> (requests: Int, secrets: [String]) {
        let data = try Data(contentsOf: URL(string: url + "/_emulator/stats")!)
        let stats = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (try #require(stats?["requests"] as? Int), try #require(stats?["secrets"] as? [String]))
    }

    /// A client for checking what the emulator holds.
    func client(key: String = "sk_test_canaryKEY0123456789") throws -> SecretStoreClient {
        SecretStoreClient(
            configuration: .init(
                baseURL: try BaseURL(url), apiKey: try APIKey(key), userAgent: "stripe-secrets-tests",
                retry: RetryPolicy(maxAttempts: 1), rateLimit: 1000))
    }
}
