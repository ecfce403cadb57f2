import ParleyTestSupport
import Testing
import Synchronization
import ParleyDSP
@testable import ParleyAudio

/// The recorder the probe and the alignment on speech share: armed to wait for the far end.
@Suite struct EchoPathRecorderTests {
    static let frame = 240

    static func feed(_ recorder: EchoPathRecorder, frames: Int, reference value: Int16) {
        let mic = [Int16](repeating: 7, count: frame), ref = [Int16](repeating: value, count: frame)
        for _ in 0..<frames { recorder.record(mic: mic, reference: ref, count: frame) }
    }

    @Test func armedForSpeechItRecordsOnlyAfterTheReferenceHasCarriedAudioForAWhile() throws {
        let recorder = EchoPathRecorder(samples: 10 * Self.frame)
        recorder.arm(afterReferenceFrames: 5)
        Self.feed(recorder, frames: 4, reference: 100)
        Self.feed(recorder, frames: 1, reference: 0)   // a gap: the wait starts again
        Self.feed(recorder, frames: 4, reference: 100)
        Self.feed(recorder, frames: 9, reference: 300)  // the 5th in a row, then 8 recorded frames
        #expect(recorder.take() == nil)
        Self.feed(recorder, frames: 2, reference: 500)
        let recording = try #require(recorder.take())
        #expect(recording.reference.prefix(8 * Self.frame).allSatisfy { $0 == 300 })
        #expect(recording.reference.suffix(2 * Self.frame).allSatisfy { $0 == 500 })
        #expect(recording.mic.allSatisfy { $0 == 7 })
    }

    @Test func disarmedItRecordsNothing() {
        let recorder = EchoPathRecorder(samples: 2 * Self.frame)
        recorder.arm()
        recorder.disarm()
        Self.feed(recorder, frames: 4, reference: 100)
        #expect(recorder.take() == nil)
    }

    @Test func anEchoAlreadyWhereTheMarginPutsItIsLeftAlone() throws {
        // The mic hears the reference 10 samples later: the lag the estimator finds.
        let reference = EchoFixture.pcm(EchoFixture.noise(count: 24000, rms: 3000))
        let mic = [Int16](repeating: 0, count: 10) + reference.dropLast(10)
        let controls = AudioControls()
        let found = controls.correctEchoDelay(mic: mic, reference: reference, margin: 8, tolerance: 48)
        let estimate = try #require(found)
        #expect(estimate.lagSamples == 10)
        #expect(controls.echoDelayCorrection.load(ordering: .relaxed) == 0)
        _ = controls.correctEchoDelay(mic: mic, reference: reference, margin: 8)  // the probe: always
        #expect(controls.echoDelayCorrection.load(ordering: .relaxed) == 2)
    }
}
