import Synchronization
import Testing
@testable import ParleyAudio

/// The aligner on one clock, with the playback delay read as a period-granular driver (or
/// snd-aloop's timer) reports it: right on average, off by ±`jitter` samples on every
/// other write. What the aligner must do then: settle on the readings' average once after
/// its start, move the lead by a correction's change (from the probe or the alignment on
/// speech), and never steer, so the echo path the canceller learns does not move.
@Suite struct ReferenceAlignerTests {
    static let frame = AudioFormat.frameSamples
    static let jitter = 80  // 3.3 ms, beyond the 2 ms deadband: the readings' own spread
    static let deviceFill = 2400  // what the device holds ahead of the speaker (100 ms)

    final class Bench {
        let ring = SampleRing(minimumCapacity: 1 << 15)
        let controls = AudioControls()
        let aligner: ReferenceAligner
        var frameIndex = 0
        var steeredFrames = 0
        let out = UnsafeMutableBufferPointer<Int16>.allocate(capacity: ReferenceAlignerTests.frame)

        init() {
            aligner = ReferenceAligner(reference: ring, controls: controls, extraLeadMilliseconds: 0)
            _ = ring.push([Int16](repeating: 1, count: ReferenceAlignerTests.deviceFill))  // the device's fill at start
        }

        deinit { out.deallocate() }

        /// One 10 ms period: playback writes a frame and reads the device's delay (off by the
        /// jitter on odd writes), then capture takes its frame.
        func period() {
            let now = frameIndex * 10_000_000 + 1_000_000_000
            _ = ring.push([Int16](repeating: 1, count: ReferenceAlignerTests.frame))
            let reading = ReferenceAlignerTests.deviceFill + (frameIndex % 2 == 0 ? -1 : 1) * ReferenceAlignerTests.jitter
            controls.playbackDelay.store(reading, ordering: .relaxed)
            controls.playbackDelayNanoseconds.store(now, ordering: .relaxed)
            aligner.take(into: out, captureDelay: 0, now: now)
            if controls.referenceRateMilliPPM.load(ordering: .relaxed) != 0 { steeredFrames += 1 }
            frameIndex += 1
        }

        func run(seconds: Int) { for _ in 0..<(seconds * 100) { period() } }
        var lead: Int { controls.referenceLead.load(ordering: .relaxed) }
    }

    @Test(arguments: [480, -240, 1000]) func aCorrectionMovesTheLeadByItsChangeAndJitterIsNeverSteered(shift: Int) {
        let bench = Bench()
        bench.run(seconds: 5)  // the start's jump, and 3 s later the settling one
        #expect(bench.steeredFrames == 0)
        #expect(bench.controls.referenceRealignments.load(ordering: .relaxed) == 2)
        let before = bench.lead
        let realignments = bench.controls.referenceRealignments.load(ordering: .relaxed)
        // Lands on a frame whose reading is off by +jitter: jumping to that frame's error
        // would leave a 2×jitter offset for the steering to chase.
        bench.controls.echoDelayCorrection.store(shift, ordering: .relaxed)
        bench.run(seconds: 1)
        // By its change, and what was left of the readings' average offset (a few samples).
        #expect(abs(bench.lead - (before + shift)) <= 8)
        #expect(bench.controls.referenceRealignments.load(ordering: .relaxed) == realignments + 1)
        bench.run(seconds: 60)
        #expect(bench.steeredFrames == 0, "the steering moved the echo path for \(bench.steeredFrames / 100) s")
        #expect(abs(bench.lead - (before + shift)) <= 8)
    }
}
