import ParleyTestSupport
import Testing
@testable import ParleyAudio

@Suite struct ClockDriftTests {
    typealias Reading = StreamClock.Reading

    /// Readings once a second for `seconds`, the capture clock off by `ppm`, each position
    /// jittered by up to `jitter` frames (a period's phase, a delay read mid-transfer).
    func estimate(ppm: Double, seconds: Int, jitter: Int, rate: Int = 48000) -> Double? {
        var estimator = ClockDriftEstimator(captureRate: rate, playbackRate: rate)
        var generator = SplitMix(seed: 7)  // deterministic: no flaky bounds
        for t in 0...seconds {
            let nanos = t * 1_000_000_000 + 3_000_000
            let captured = Double(rate * t) * (1 + ppm / 1e6)
            estimator.add(
                capture: Reading(frames: Int(captured) + Int.random(in: -jitter...jitter, using: &generator),
                                 nanoseconds: nanos, epoch: 1),
                playback: Reading(frames: rate * t + Int.random(in: -jitter...jitter, using: &generator),
                                  nanoseconds: nanos + 1_000_000, epoch: 1))
        }
        return estimator.driftPPM
    }

    @Test func oneClockReadsZeroAndADriftingOneItsRate() throws {
        #expect(estimate(ppm: 0, seconds: 5, jitter: 0) == nil)  // too short a window to say
        // Delay-corrected positions are good to a few frames.
        #expect(abs(try #require(estimate(ppm: 0, seconds: 60, jitter: 5))) < 3)
        #expect(abs(try #require(estimate(ppm: 100, seconds: 60, jitter: 5)) - 100) < 3)
        #expect(abs(try #require(estimate(ppm: -35, seconds: 30, jitter: 5)) + 35) < 8)
        // Even a whole period of jitter (480 frames) tells 100 ppm from none within minutes.
        #expect(abs(try #require(estimate(ppm: 100, seconds: 300, jitter: 480)) - 100) < 30)
    }

    /// Positions a timer tick at a time (±2 ms: snd-aloop in the HIL VM), read four times a
    /// second on one clock: 10 s of them fit a slope tens of ppm off, which the reference
    /// would follow. The estimate waits until the fit is sure to 10 ppm, then reads near 0.
    @Test func coarseReadingsWaitUntilTheFitIsSure() throws {
        var estimator = ClockDriftEstimator(captureRate: 48000, playbackRate: 48000)
        var generator = SplitMix(seed: 11)
        var firstSure: Int?
        for quarter in 0...(4 * 120) {
            let nanos = quarter * 250_000_000
            let frames = 12000 * quarter
            estimator.add(capture: Reading(frames: frames + Int.random(in: -96...96, using: &generator), nanoseconds: nanos, epoch: 1),
                          playback: Reading(frames: frames + Int.random(in: -96...96, using: &generator), nanoseconds: nanos, epoch: 1))
            if quarter == 40 { #expect(estimator.driftPPM == nil, "\(estimator.uncertaintyPPM ?? -1) ppm sure at 10 s") }
            if firstSure == nil, estimator.driftPPM != nil { firstSure = quarter / 4 }
        }
        #expect(try #require(firstSure) < 60)
        #expect(abs(try #require(estimator.driftPPM)) < 30)  // three standard errors
        #expect(try #require(estimator.uncertaintyPPM) < 5)
    }

    @Test func aJumpInPositionStartsTheEstimateOver() {
        var estimator = ClockDriftEstimator(captureRate: 48000, playbackRate: 48000, minimumWindowSeconds: 1)
        estimator.add(capture: Reading(frames: 0, nanoseconds: 0, epoch: 1),
                      playback: Reading(frames: 0, nanoseconds: 0, epoch: 1))
        estimator.add(capture: Reading(frames: 48000, nanoseconds: 1_000_000_000, epoch: 1),
                      playback: Reading(frames: 48000, nanoseconds: 1_000_000_000, epoch: 1))
        estimator.add(capture: Reading(frames: 96000, nanoseconds: 2_000_000_000, epoch: 1),
                      playback: Reading(frames: 96000, nanoseconds: 2_000_000_000, epoch: 1))
        #expect(estimator.driftPPM == 0)
        // An xrun: capture lost frames and started counting again.
        estimator.add(capture: Reading(frames: 10, nanoseconds: 2_500_000_000, epoch: 2),
                      playback: Reading(frames: 120000, nanoseconds: 2_500_000_000, epoch: 1))
        #expect(estimator.driftPPM == nil)
    }

    /// A position that jumps 40 ms with no xrun counted (the HIL VM starved) starts the
    /// estimate over instead of reading as thousands of ppm (10 ms of jitter does not:
    /// `oneClockReadsZeroAndADriftingOneItsRate`).
    @Test func aPositionThatJumpsWithoutAnXrunStartsTheEstimateOver() throws {
        var estimator = ClockDriftEstimator(captureRate: 48000, playbackRate: 48000)
        var generator = SplitMix(seed: 3)
        func add(_ t: Int, jump: Int = 0) {
            let jitter = { Int.random(in: -48...48, using: &generator) }
            estimator.add(capture: Reading(frames: 48000 * t + jitter(), nanoseconds: t * 1_000_000_000, epoch: 1),
                          playback: Reading(frames: 48000 * t + jump + jitter(), nanoseconds: t * 1_000_000_000, epoch: 1))
        }
        for t in 0...48 { add(t) }  // ±1 ms read once a second: sure to 10 ppm after ~45 s
        #expect(abs(try #require(estimator.driftPPM)) < 30)  // three standard errors
        add(49, jump: -1920)
        #expect(estimator.driftPPM == nil)  // a new window: too short to say
        for t in 50...98 { add(t, jump: -1920) }
        #expect(abs(try #require(estimator.driftPPM)) < 30)  // three standard errors
    }

    @Test func readingsComeWholeFromTheSequenceLock() {
        let clock = StreamClock()
        clock.publish(frames: 480, at: 1_000)
        let first = clock.read()
        clock.publish(frames: 960, at: 2_000)
        let second = clock.read()
        #expect(first.frames == 480 && second.frames == 960 && second.nanoseconds >= first.nanoseconds)
    }
}
