import Glibc
import ParleyTestSupport
import Testing
@testable import ParleyConfig
@testable import ParleyDSP

@Suite struct CaptureChainTests {
    static let frame = 240  // 10 ms at 24 kHz

    static func settings(aec: Bool = true, res: Bool = true, ns: Bool = true, agc: Bool = false) -> DSPSettings {
        DSPSettings(resamplerQuality: 5, echoCancellation: aec, echoTailMilliseconds: 200, echoExtraDelayMilliseconds: 0, driftWarningPPM: 20,
                    residualEchoSuppression: res, noiseSuppression: ns, noiseSuppressDecibels: -15,
                    automaticGain: agc, automaticGainLevel: 8000, automaticGainMaximumDecibels: 20,
                    echoDelayProbe: false, echoProbeMarginMilliseconds: 5, voiceActivity: false)
    }

    /// Runs the chain over whole signals frame by frame.
    static func run(_ chain: CaptureChain, mic: [Int16], reference: [Int16]) -> [Int16] {
        var out = mic
        var ref = reference
        out.withUnsafeMutableBufferPointer { o in
            ref.withUnsafeMutableBufferPointer { r in
                var i = 0
                while i + frame <= o.count {
                    _ = chain.process(o.baseAddress! + i, reference: r.baseAddress! + i)
                    i += frame
                }
            }
        }
        return out
    }

    struct Scene {
        let far: [Int16]       // what went to the speaker
        let mic: [Int16]       // echo + near-end + noise
        let near: [Int16]      // near-end alone
        let farOnly: Range<Int>
        let doubleTalk: Range<Int>
    }

    /// 0–12 s far end only, 12–18 s double talk.
    static let scene: Scene = {
        let rate = EchoFixture.rate
        let count = 18 * rate
        let farVoice = EchoFixture.farSpeech()
        let nearVoice = EchoFixture.nearSpeech()
        let far = EchoFixture.scaled(EchoFixture.looped(farVoice, count: count), toRMS: 3300)  // about -20 dBFS
        let echo = EchoFixture.convolve(far, EchoFixture.room(delayMilliseconds: 40))
        var near = [Float](repeating: 0, count: count)
        let nearSpeech = EchoFixture.scaled(EchoFixture.looped(nearVoice, count: 6 * rate), toRMS: 1500)
        for i in 0..<(6 * rate) { near[12 * rate + i] = nearSpeech[i] }
        let noise = EchoFixture.noise(count: count, rms: 18)  // about -65 dBFS
        let mic = (0..<count).map { echo[$0] + near[$0] + noise[$0] }
        return Scene(far: EchoFixture.pcm(far), mic: EchoFixture.pcm(mic), near: EchoFixture.pcm(near),
                     farOnly: (6 * rate)..<(12 * rate), doubleTalk: (12 * rate)..<(18 * rate))
    }()

    @Test func echoCancellerAloneReaches25dBAfterConvergence() {
        let s = Self.scene
        let out = Self.run(CaptureChain(frameSize: Self.frame, rate: 24000, settings: Self.settings(res: false, ns: false)),
                           mic: s.mic, reference: s.far)
        let erle = EchoMetrics.erle(mic: s.mic, out: out, [s.farOnly])
        print("ERLE, AEC only, after convergence: \(erle) dB")
        #expect(erle >= 25)
    }

    @Test func fullChainCancelsMoreAndKeepsTheNearEnd() {
        let s = Self.scene
        let out = Self.run(CaptureChain(frameSize: Self.frame, rate: 24000, settings: Self.settings()),
                           mic: s.mic, reference: s.far)
        let erle = EchoMetrics.erle(mic: s.mic, out: out, [s.farOnly])
        let correlation = Self.nearEndCorrelation(out, s)
        print("ERLE, full chain: \(erle) dB; near-end correlation in double talk: \(correlation)")
        #expect(erle >= 30)
        #expect(correlation >= 0.9)
    }

    /// How much near-end speech survives double talk: the correlation of the output with the
    /// clean near-end speech, at the lag (0–30 ms) the chain delays it by.
    static func nearEndCorrelation(_ out: [Int16], _ s: Scene) -> Double {
        func correlation(_ lag: Int, _ range: Range<Int>) -> Double {
            EchoMetrics.nearEndCorrelation(out: out, near: s.near, lag: lag, range)
        }
        let probe = s.doubleTalk.lowerBound..<(s.doubleTalk.lowerBound + 2 * 24000)
        let lag = (0...720).max { correlation($0, probe) < correlation($1, probe) }!
        return correlation(lag, s.doubleTalk.lowerBound..<(s.doubleTalk.upperBound - 720))
    }

    @Test func echoCancellerAloneKeepsTheNearEnd() {
        let s = Self.scene
        let out = Self.run(CaptureChain(frameSize: Self.frame, rate: 24000, settings: Self.settings(res: false, ns: false)),
                           mic: s.mic, reference: s.far)
        let correlation = Self.nearEndCorrelation(out, s)
        print("near-end correlation in double talk, AEC only: \(correlation)")
        #expect(correlation >= 0.9)
    }

    @Test func withoutAReferenceNothingIsCancelled() {
        let s = Self.scene
        let out = Self.run(CaptureChain(frameSize: Self.frame, rate: 24000, settings: Self.settings(res: false, ns: false)),
                           mic: s.mic, reference: [Int16](repeating: 0, count: s.far.count))
        let erle = EchoMetrics.erle(mic: s.mic, out: out, [s.farOnly])
        #expect(erle < 3)  // the canceller works from the reference, not by muting
    }
}
