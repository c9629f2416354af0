/// Keeps calls under a rate, so that a server allowing `rate` requests a second never refuses
/// one: at most ⌊rate⌋ calls start in any window of `window` (1.1 s, the extra 100 ms absorbing
/// the jitter between a call leaving and the server counting it). A rate below 1 allows one call
/// per `window / rate`. Each 429 halves the rate for the next five seconds.
///
/// A sliding window, rather than a token bucket, is what holds against every way a server may
/// count: within any calendar second, any sliding second, or a bucket of one second's burst.
public actor RateLimiter {
    public let nominalRate: Double
    /// The span within which at most ⌊rate⌋ calls start.
    public static let window = Duration.milliseconds(1100)
    private var rate: Double
    private var slowUntil: ContinuousClock.Instant
    /// When each call of the current window started, oldest first.
    private var starts: [ContinuousClock.Instant] = []
    private let clock = ContinuousClock()

    /// - Parameter perSecond: the steady rate; Stripe allows 25/s in test mode, 100/s live.
    public init(perSecond: Double) {
        nominalRate = max(perSecond, 0.1)
        rate = nominalRate
        slowUntil = clock.now
    }

    /// Waits until a call may go out; returns the instant it was allowed to.
    @discardableResult
    public func acquire() async -> ContinuousClock.Instant {
        while true {
            let now = clock.now
            if now >= slowUntil { rate = nominalRate }
            let allowed = max(1, Int(rate))
            let span = rate >= 1 ? Self.window : Self.window * (1 / rate)
            starts.removeFirst(starts.prefix { $0 <= now - span }.count)
            if starts.count < allowed {
                starts.append(now)
                return now
            }
            do {
                try await Task.sleep(until: starts[starts.count - allowed] + span, clock: clock)
            } catch {
                return clock.now  // cancelled: the caller's call is being abandoned anyway
            }
        }
    }

    /// Stripe said 429: halve the rate for the next few seconds (to no less than 0.5 a second,
    /// and never above the rate already kept).
    public func slowDown() {
        rate = min(rate, max(rate / 2, 0.5))
        slowUntil = clock.now + .seconds(5)
    }
}
