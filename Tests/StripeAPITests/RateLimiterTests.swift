import StripeAPI
import Testing

@Suite struct RateLimiterTests {
    /// The instants at which `count` calls at `rate` a second were let through.
    private func grants(_ count: Int, rate: Double, slowingAfter slowAt: Int? = nil) async -> [ContinuousClock.Instant]
    {
        let limiter = RateLimiter(perSecond: rate)
        var instants: [ContinuousClock.Instant] = []
        for index in 0..<count {
            if index == slowAt { await limiter.slowDown() }
            instants.append(await limiter.acquire())
        }
        return instants
    }

    @Test func noWindowEverHoldsMoreThanTheRate() async {
        let instants = await grants(75, rate: 30)
        // Any span of `window` holds at most 30 starts: the 31st after a start is a window later.
        for index in instants.indices.dropLast(30) {
            #expect(instants[index + 30] - instants[index] >= RateLimiter.window)
        }
        #expect(instants[29] - instants[0] < RateLimiter.window, "the first window's calls go at once")
    }

    @Test func concurrentCallersShareOneWindow() async {
        let limiter = RateLimiter(perSecond: 10)
        let instants = await withTaskGroup(of: ContinuousClock.Instant.self) { group in
            for _ in 0..<25 { group.addTask { await limiter.acquire() } }
            return await group.reduce(into: []) { $0.append($1) }.sorted()
        }
        for index in instants.indices.dropLast(10) {
            #expect(instants[index + 10] - instants[index] >= RateLimiter.window)
        }
    }

    @Test func a429HalvesTheRate() async {
        let slowedAt = ContinuousClock.now
        let instants = await grants(20, rate: 8, slowingAfter: 8)
        // For the five seconds after the slow-down, at most 4 in a window (a starved test
        // process may see the rate restored before its last calls).
        for index in Array(instants.indices).dropFirst(8).dropLast(4)
        where instants[index + 4] < slowedAt + .seconds(5) {
            #expect(instants[index + 4] - instants[index] >= RateLimiter.window)
        }
    }

    @Test func a429NeverSpeedsUpARateBelowTheSlowDownsFloor() async {
        // At 0.4 a second, halving to the 0.5 floor would space calls 2.1 s apart, not 2.625 s.
        let instants = await grants(2, rate: 0.4, slowingAfter: 0)
        #expect(instants[1] - instants[0] >= RateLimiter.window * (1 / 0.4))
    }

    @Test func aRateBelowOneSpacesCallsFurtherApart() async {
        let instants = await grants(2, rate: 2.0 / 3)
        #expect(instants[1] - instants[0] >= RateLimiter.window * 1.5)
    }
}
