import ParleyTestSupport
import Testing
@testable import ParleyDSP

/// The canceller rests while the far end is silent: the output must be what running it
/// would have given — the near end kept, no click at either switch, the same cancellation
/// once the far end speaks again.
@Suite struct IdleCancellerTests {
    static let rate = 24000
    static let frame = CaptureChainTests.frame

    /// 0–3 s far end · 3–11 s far end silent (resting from 6 s), the technician talking
    /// 4–5.5 s and 8–11.5 s (still talking when the answer starts) · 11.5–14 s far end
    /// alone · 14–16 s double talk. The mic carries a
    /// DC offset, as cheap codecs do, so a switch that dropped the canceller's DC notch
    /// would step.
    struct Scene {
        let far: [Int16]
        let mic: [Int16]
        let near: [Int16]
    }

    static let scene: Scene = {
        let count = 16 * rate
        let speech = EchoFixture.scaled(EchoFixture.looped(EchoFixture.farSpeech(), count: count), toRMS: 3300)
        var far = [Float](repeating: 0, count: count)
        for i in 0..<count where i < 3 * rate || i >= 11 * rate { far[i] = speech[i] }
        let echo = EchoFixture.convolve(far, EchoFixture.room(delayMilliseconds: 40))
        let talk = EchoFixture.scaled(EchoFixture.looped(EchoFixture.nearSpeech(), count: count), toRMS: 1500)
        var near = [Float](repeating: 0, count: count)
        let talking = [(4 * rate)..<(5 * rate + rate / 2), (8 * rate)..<(11 * rate + rate / 2), (14 * rate)..<count]
        for range in talking { for i in range { near[i] = talk[i] } }
        let noise = EchoFixture.noise(count: count, rms: 18)
        let mic = (0..<count).map { echo[$0] + near[$0] + noise[$0] + 300 }
        return Scene(far: EchoFixture.pcm(far), mic: EchoFixture.pcm(mic), near: EchoFixture.pcm(near))
    }()

    static func run(resting: Bool) -> (out: [Int16], rested: Int) {
        let chain = CaptureChain(frameSize: frame, rate: rate, settings: CaptureChainTests.settings(),
                                 rests: resting)
        let out = CaptureChainTests.run(chain, mic: scene.mic, reference: scene.far)
        return (out, chain.restedFrames)
    }

    static let rested = run(resting: true)
    static let continuous = run(resting: false)

    /// The largest step between neighbouring samples: what a click is made of.
    static func largestStep(_ x: [Int16], _ range: Range<Int>) -> Int {
        range.dropFirst().map { abs(Int(x[$0]) - Int(x[$0 - 1])) }.max()!
    }

    /// The output's correlation with the clean near end at the chain's lag (0–30 ms).
    static func nearEndKept(_ out: [Int16], _ range: Range<Int>) -> Double {
        (0...720).map { EchoMetrics.nearEndCorrelation(out: out, near: scene.near, lag: $0, range) }.max()!
    }

    @Test func itRestsOnlyAfterThreeSecondsOfSilentReference() {
        // Every run of silent reference frames, less its first 300, rests.
        var expected = 0, run = 0
        for start in stride(from: 0, to: Self.scene.far.count - Self.frame + 1, by: Self.frame) {
            run = Self.scene.far[start..<(start + Self.frame)].allSatisfy { $0 == 0 } ? run + 1 : 0
            if run > 300 { expected += 1 }
        }
        #expect(expected >= 500)  // 3–11 s silent: 800 frames, resting after 300
        #expect(Self.rested.rested == expected)
        #expect(Self.continuous.rested == 0)
    }

    @Test func whileItRestsTheNearEndIsKept() {
        let talking = (8 * Self.rate)..<(10 * Self.rate)
        let rested = Self.nearEndKept(Self.rested.out, talking)
        let ran = Self.nearEndKept(Self.continuous.out, talking)
        print("near end kept while resting: \(rested), running: \(ran)")
        #expect(rested >= 0.95)
        #expect(rested >= ran - 0.005)
    }

    @Test func neitherSwitchClicks() {
        // Into the rest at 3 s + 300 frames (the speech's own trailing silence may start it
        // a frame early), out of it at 11 s: ±20 ms around each.
        for at in [3 * Self.rate + 300 * Self.frame, 11 * Self.rate] {
            let window = (at - 480)..<(at + 480)
            let rested = Self.largestStep(Self.rested.out, window)
            let ran = Self.largestStep(Self.continuous.out, window)
            print("largest step around \(Double(at) / Double(Self.rate)) s: resting \(rested), running \(ran)")
            #expect(rested <= ran + 8)
        }
    }

    @Test func theFarEndIsCancelledAsWellAfterTheRest() {
        let farOnly = [(11 * Self.rate + Self.rate / 2)..<(14 * Self.rate)]
        let rested = EchoMetrics.erle(mic: Self.scene.mic, out: Self.rested.out, farOnly)
        let ran = EchoMetrics.erle(mic: Self.scene.mic, out: Self.continuous.out, farOnly)
        let doubleTalk = (14 * Self.rate)..<(16 * Self.rate - 720)
        let keptRested = Self.nearEndKept(Self.rested.out, doubleTalk)
        let keptRan = Self.nearEndKept(Self.continuous.out, doubleTalk)
        print("after the rest: ERLE \(rested) dB (running: \(ran)); near end kept in double talk \(keptRested) (\(keptRan))")
        #expect(rested >= ran - 1)
        #expect(keptRested >= keptRan - 0.01)
    }
}
