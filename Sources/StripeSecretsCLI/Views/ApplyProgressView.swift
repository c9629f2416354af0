import Apply
import SecretsCore
import SecretsModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `apply` shows while it runs: a progress bar on a terminal, one plain line per change
/// otherwise (CI logs), failures always as lines; then a summary.
final class ApplyProgressView {
    private let total: Int
    private let terminal: Bool
    private let width: Int
    private var done = 0
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init(total: Int, addresses: [SecretAddress], terminal: Bool) {
        self.total = total
        self.terminal = terminal
        width = min(48, addresses.map { $0.description.count }.max() ?? 0)
        start = clock.now
    }

    static func header(count: Int, mode: StripeMode, parallelism: Int, rate: Double) -> String {
        let perSecond = rate == rate.rounded() ? String(Int(rate)) : String(rate)
        return
            "Applying \(count.counted("change")) to \(mode.rawValue) mode (parallelism \(parallelism), ≤ \(perSecond) requests/s)"
    }

    func show(_ event: ApplyEvent) {
        done += 1
        let address = TerminalText.safe(event.change.address.description)
        let padded = address + String(repeating: " ", count: max(0, width - address.count))
        let milliseconds = Int(
            event.duration.components.seconds * 1000 + event.duration.components.attoseconds / 1_000_000_000_000_000)
        var line: String?
        var failed = false
        switch event.result {
        case .success(let id):
            if !terminal {
                let verb = event.wasAlreadyGone ? "gone" : Self.pastTense(event.change.action)
                let shownID = id.map { TerminalText.safe($0.count > 16 ? String($0.prefix(14)) + "…" : $0) } ?? ""
                line =
                    "\(verb.padding(toLength: 9, withPad: " ", startingAt: 0)) \(padded)  "
                    + "\(shownID.padding(toLength: 16, withPad: " ", startingAt: 0))  \(milliseconds) ms"
            }
        case .failure(let failure):
            failed = true
            line = "failed    \(padded)  \(TerminalText.safe(failure.description))"
        }
        if terminal { Console.writeError("\r\u{1B}[2K") }
        // Failures are errors: stderr, like every other error.
        if let line { failed ? Console.printError(line) : Console.printLine(line) }
        if terminal { Console.writeError(bar()) }
    }

    func finish() {
        if terminal { Console.writeError("\r\u{1B}[2K") }
    }

    /// `[███████████████░░░░░░░░░] 3/5  2.9/s  about 1s left`
    private func bar() -> String {
        let cells = 24
        let filled = total == 0 ? cells : cells * done / total
        let elapsed = clock.now - start
        let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let rate = Double(done) / seconds
        let left = rate > 0 ? Int((Double(total - done) / rate).rounded(.up)) : 0
        let rateText = String(Int(rate * 10) / 10) + "." + String(Int(rate * 10) % 10)
        return "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: cells - filled) + "] "
            + "\(done)/\(total)  \(rateText)/s  about \(left)s left"
    }

    private static func pastTense(_ action: Plan.Action) -> String {
        switch action {
        case .create: "created"
        case .replace: "replaced"
        case .delete: "deleted"
        case .unknown: "unknown"
        }
    }
}
