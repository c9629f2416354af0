import Testing

@testable import StripeAPI

/// The outage detector, on a clock of its own: instants are given, never waited for.
@Suite struct OutageDetectorTests {
    let start = ContinuousClock.now
    let detector = OutageDetector(requestTimeout: .seconds(30))

    private func at(_ seconds: Double) -> ContinuousClock.Instant {
        start + .milliseconds(Int64(seconds * 1000))
    }

    @Test func failuresInARowWithNothingAnsweringForTenSecondsMeanDown() {
        detector.attempting(at: at(0))
        detector.answered(at: at(1))
        for second in [1.1, 1.2, 1.3] { detector.failed(at: at(second), sentAt: at(second - 0.05)) }
        #expect(!detector.isDown(at: at(10.9)))
        #expect(detector.isDown(at: at(11)))
        // Once down, an answer to a call already in flight does not bring it back for this run.
        detector.answered(at: at(11.5))
        #expect(detector.isDown(at: at(12)))
    }

    @Test func answersBetweenFailuresKeepItUpHoweverLongTheRun() {
        detector.attempting(at: at(0))
        var second = 0.0
        for _ in 0..<1000 {
            detector.failed(at: at(second), sentAt: at(second))
            detector.failed(at: at(second + 0.1), sentAt: at(second))
            detector.answered(at: at(second + 0.2))
            second += 8
        }
        #expect(!detector.isDown(at: at(second)))
    }

    @Test func fewerThanThreeFailuresNeedACallThatWaitedOutTheRequestTimeout() {
        let hanging = detector.attempting(at: at(0))
        detector.failed(at: at(10), sentAt: detector.attempting(at: at(9.9)))
        detector.failed(at: at(20), sentAt: detector.attempting(at: at(19.9)))
        #expect(!detector.isDown(at: at(29.9)))
        detector.failed(at: at(30), sentAt: hanging)
        #expect(detector.isDown(at: at(30)))
    }

    @Test func aDroppedCallAfterALongWaitToSendIsNotAnOutage() {
        // An answer, then a quiet spell with nothing in flight (a slow rate limit, a plan being
        // approved), then one connection closed at once: the API was never silent for a call.
        detector.attempting(at: at(0))
        detector.answered(at: at(0.1))
        detector.failed(at: at(100.1), sentAt: detector.attempting(at: at(100)))
        #expect(!detector.isDown(at: at(103.6)))
        // Its retry, sent after the limiter's wait, does time out unanswered: that is an outage.
        detector.failed(at: at(133.6), sentAt: detector.attempting(at: at(103.6)))
        #expect(detector.isDown(at: at(133.6)))
    }

    @Test func silenceWithoutAFailureIsASlowAPINotAnOutage() {
        detector.attempting(at: at(0))
        #expect(!detector.isDown(at: at(3600)))
    }
}
