/// When and how long to wait before trying a call again.
///
/// Retries 409, 429, 5xx and connection errors; never when Stripe says
/// `Stripe-Should-Retry: false`, always (within `maxAttempts`) when it says `true`. Waits
/// `baseDelay · 2ⁿ` capped at `maxDelay`, ±25 % jitter, and at least what `Retry-After` asks.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 6, baseDelay: Double = 0.25, maxDelay: Double = 4) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Whether an answer with `status` may be retried, given Stripe's `Stripe-Should-Retry`.
    public static func shouldRetry(status: Int, stripeShouldRetry: Bool?) -> Bool {
        if let stripeShouldRetry { return stripeShouldRetry }
        return status == 409 || status == 429 || status >= 500
    }

    /// Seconds to wait before attempt `attempt + 1` (attempts count from 1).
    public func delay(after attempt: Int, retryAfter: Double?) -> Double {
        let exponential = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 20)))
        let jittered = exponential * Double.random(in: 0.75...1.25)
        return max(jittered, min(retryAfter ?? 0, 60))
    }
}
