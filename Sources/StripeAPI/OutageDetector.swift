import NIOConcurrencyHelpers

/// Tells a flaky API from one that has gone away, across every call of one client.
///
/// Each call retries on its own (`RetryPolicy`); against an API that stopped answering, every
/// call in flight would wait out its own schedule, up to twice the request timeout. This sees
/// the calls together: the API is taken to be down once attempts failed without an answer (no
/// HTTP status at all) and nothing at all has answered for a while. From then on no call retries
/// and no new call is sent. Any answer, even a 500 or a 429, shows it is up: Stripe's own
/// errors never count, and a dropped connection among answers never trips it.
final class OutageDetector: Sendable {
    /// Failures in a row, with no answer for `quietPeriod`: the API is down.
    static let failuresInARow = 3
    static let quietPeriod: Duration = .seconds(10)

    private struct Record {
        /// The last answer, or the first attempt while none came yet.
        var quietSince: ContinuousClock.Instant?
        /// Attempts that got no answer since then.
        var failures = 0
        /// Once down, down for the rest of the run: the next run starts afresh.
        var isDown = false
    }

    /// A single failure with no answer for this long is enough: one call timed out while nothing
    /// else answered either (the request timeout).
    private let longSilence: Duration
    private let record = NIOLockedValueBox(Record())

    init(requestTimeout: Duration) {
        longSilence = requestTimeout
    }

    /// An attempt is about to be sent; returns the instant, for `failed(sentAt:)`.
    @discardableResult
    func attempting(at now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant {
        record.withLockedValue { record in
            if record.quietSince == nil { record.quietSince = now }
        }
        return now
    }

    /// Something answered: the API is up.
    func answered(at now: ContinuousClock.Instant = .now) {
        record.withLockedValue { record in
            guard !record.isDown else { return }
            record.quietSince = now
            record.failures = 0
        }
    }

    /// An attempt sent at `sentAt` got no answer. It alone shows an outage when it waited out
    /// `longSilence` with nothing answering meanwhile; time spent before it was sent (a rate
    /// limiter's wait, a retry's delay, a person approving a plan) is not silence.
    func failed(at now: ContinuousClock.Instant = .now, sentAt: ContinuousClock.Instant) {
        record.withLockedValue { record in
            record.failures += 1
            guard !record.isDown else { return }
            let waited = now - max(sentAt, record.quietSince ?? sentAt)
            record.isDown = waited >= longSilence || Self.judge(record, now: now)
        }
    }

    /// Whether the API is taken to be down, as of `now`.
    func isDown(at now: ContinuousClock.Instant = .now) -> Bool {
        record.withLockedValue { record in
            if !record.isDown { record.isDown = Self.judge(record, now: now) }
            return record.isDown
        }
    }

    private static func judge(_ record: Record, now: ContinuousClock.Instant) -> Bool {
        guard record.failures >= failuresInARow, let quietSince = record.quietSince else { return false }
        return now - quietSince >= quietPeriod
    }
}
