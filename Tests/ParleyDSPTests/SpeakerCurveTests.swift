import Glibc
import ParleyTestSupport
import Testing
@testable import ParleyDSP

/// `SpeakerCurveFit` on 4 s recordings of a far end through a room (40 ms, reflections)
/// plus mic noise, as the capture thread records them: the speaker's limit found when it
/// squashes its peaks, nothing when it plays straight or nothing played.
struct SpeakerCurveTests {
    static let rate = 24000

    /// What the mic hears when `speaker` is what the speaker did to the reference.
    static func recording(_ speaker: (Float) -> Float, farRMS: Float = 3300) -> (mic: [Int16], reference: [Int16]) {
        let count = 4 * rate
        let far = EchoFixture.scaled(EchoFixture.looped(EchoFixture.farSpeech(), count: count), toRMS: farRMS)
        let echo = EchoFixture.convolve(far.map(speaker), EchoFixture.room(delayMilliseconds: 40))
        let noise = EchoFixture.noise(count: count, rms: 18)
        return (EchoFixture.pcm((0..<count).map { echo[$0] + noise[$0] }), EchoFixture.pcm(far))
    }

    static func fit(_ r: (mic: [Int16], reference: [Int16])) -> SpeakerCurveFit.Result? {
        var fit = SpeakerCurveFit(mic: r.mic, reference: r.reference, frameSize: 240, tailSamples: rate / 5, rate: rate)
        return fit.run()
    }

    @Test(arguments: [5000, 9000, 14000] as [Float]) func findsTheLimitOfASpeakerThatSquashesItsPeaks(limit: Float) throws {
        let result = try #require(Self.fit(Self.recording { limit * tanhf($0 / limit) }))
        let found = Float(try #require(result.limit))
        #expect(abs(20 * log10f(found / limit)) <= 1, "found \(found) for \(limit)")
        #expect(result.erleDecibels >= result.straightDecibels + SpeakerCurveFit.minimumGainDecibels)
    }

    @Test func aSpeakerThatPlaysStraightKeepsTheReferenceStraight() throws {
        let result = try #require(Self.fit(Self.recording { $0 }))
        #expect(result.limit == nil)
        #expect(result.erleDecibels == result.straightDecibels)
    }

    /// A quiet far end (−35 dBFS, peaks near −20) through a speaker that squashes only above
    /// −6 dBFS: it never reaches the curve, and bending would only do harm.
    @Test func aQuietAnswerNeverReachesTheCurve() throws {
        let result = try #require(Self.fit(Self.recording({ 16000 * tanhf($0 / 16000) }, farRMS: 580)))
        #expect(result.limit == nil)
    }

    @Test func aRecordingWithNoFarEndTellsNothing() {
        let silence = [Int16](repeating: 0, count: 4 * Self.rate)
        let mic = EchoFixture.pcm(EchoFixture.noise(count: 4 * Self.rate, rms: 18))
        #expect(Self.fit((mic, silence)) == nil)
    }

    @Test func bendsInPlaceLikeTheSpeaker() {
        var x: [Int16] = [0, 1000, -1000, 8000, -8000, 32767, -32768]
        x.withUnsafeMutableBufferPointer { SpeakerCurve.bend($0.baseAddress!, count: $0.count, limit: 8000) }
        #expect(x == [0, 995, -995, 6093, -6093, 7996, -7996])
    }
}
