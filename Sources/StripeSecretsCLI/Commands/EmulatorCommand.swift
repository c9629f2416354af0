import ArgumentParser
import Emulator

extension StripeSecrets {
    /// `emulator`: the Secret Store on loopback, for the quickstart, tests and rehearsals.
    struct EmulatorCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "emulator",
            abstract: "Serve an in-memory Stripe Secret Store on loopback (no account needed).",
            discussion: """
                Its first line on stdout is `listening on http://HOST:PORT`. Any well-formed test \
                or live key is accepted (sk_test_…, sk_live_…, rk_test_…, rk_live_…); each mode and \
                each Stripe-Account has its own store. GET /_emulator/stats counts /v1 requests.

                Examples:
                  stripe-secrets emulator --port 0
                  STRIPE_API_BASE=http://127.0.0.1:12111 STRIPE_API_KEY=sk_test_123 \\
                    stripe-secrets apply
                  stripe-secrets emulator --latency 50ms --fail-rate 0.2 --drop-rate 0.05 \\
                    --rate-limit 25
                  stripe-secrets emulator --revoked-key sk_test_123    # rehearse a rolled key
                  stripe-secrets emulator --payloadless-key rk_test_123   # may not read values
                """
        )

        @Option(help: "The loopback address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "The port; 0 picks a free one.")
        var port = 12111

        @Option(help: ArgumentHelp("Delay before each answer, e.g. 50ms.", valueName: "duration"))
        var latency = DurationArgument(seconds: 0)

        @Option(help: ArgumentHelp("Fraction of requests answered 500 or 429 (retryable).", valueName: "fraction"))
        var failRate = 0.0

        @Option(
            help: ArgumentHelp(
                "Fraction of connections closed after the request ran, unanswered.", valueName: "fraction"))
        var dropRate = 0.0

        @Option(help: ArgumentHelp("Answer 429 beyond this many requests in any sliding second.", valueName: "n"))
        var rateLimit: Double?

        @Option(help: ArgumentHelp("Answer 401 to this key, as if it were rolled (repeatable).", valueName: "key"))
        var revokedKey: [String] = []

        @Option(
            help: ArgumentHelp(
                "Answer 403 to this key when it asks for a value (expand[]=payload), as for a restricted key "
                    + "without that permission (repeatable).", valueName: "key"))
        var payloadlessKey: [String] = []

        @Option(
            help: ArgumentHelp(
                "Secrets one scope may hold (Stripe's limit is 10); more rehearses listings of many pages.",
                valueName: "n"))
        var scopeLimit = 10

        func validate() throws {
            for (name, value) in [("--fail-rate", failRate), ("--drop-rate", dropRate)] where !(0...1).contains(value) {
                throw ValidationError("\(name) must be between 0 and 1")
            }
            if let rateLimit, !(rateLimit > 0 && rateLimit.isFinite) {
                throw ValidationError("--rate-limit must be a positive number")
            }
            guard latency.seconds <= 60 else { throw ValidationError("--latency must be at most 1m") }
            guard (1...100_000).contains(scopeLimit) else {
                throw ValidationError("--scope-limit must be between 1 and 100000")
            }
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            let loopbackIPv4 = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
            guard host == "::1" || host == "localhost" || loopbackIPv4 else {
                throw ValidationError(
                    "--host must be a loopback address (127.0.0.1, ::1): the emulator is for this machine only")
            }
        }

        func run() async throws {
            let faults = FaultOptions(
                latency: latency.seconds, failRate: failRate, dropRate: dropRate, rateLimit: rateLimit,
                revokedKeys: Set(revokedKey), payloadlessKeys: Set(payloadlessKey), scopeLimit: scopeLimit)
            let server = try await Console.reportingErrors {
                try await EmulatorServer.bind(host: host, port: port, faults: faults)
            }
            Console.printLine("listening on \(server.url)")
            // A port chosen by the system that nobody can read: stop now, not at the end.
            if port == 0 { Console.checkOutputWasWritten() }
            try await server.run()
        }
    }
}
