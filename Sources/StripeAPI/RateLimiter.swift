import Foundation

/// Keeps calls under a rate: a token bucket that starts full for a short burst, and halves its
/// rate for a while each time Stripe answers 429.
public actor RateLimiter {
    public let nominalRate: Double
    private var rate: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private var slowUntil: ContinuousClock.Instant
    private let clock = ContinuousClock()

    /// - Parameter perSecond: the steady rate; Stripe allows 25/s in test mode, 100/s live.
    public init(perSecond: Double) {
        nominalRate = max(perSecond, 0.1)
        rate = nominalRate
        tokens = min(nominalRate, 5)
        last = clock.now
        slowUntil = clock.now
    }

    /// Waits until a call may go out.
    public func acquire() async {
        while true {
            refill()
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / rate
            try? await Task.sleep(for: .seconds(wait))
        }
    }

    /// Stripe said 429: halve the rate for the next few seconds.
    public func slowDown() {
        rate = max(rate / 2, 0.5)
        tokens = 0
        slowUntil = clock.now + .seconds(5)
    }

    private func refill() {
        let now = clock.now
        let elapsed = now - last
        last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if now >= slowUntil { rate = min(nominalRate, rate * 2) }
        tokens = min(max(1, min(rate, 5)), tokens + seconds * rate)
    }
}
