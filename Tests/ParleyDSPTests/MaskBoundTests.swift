import Testing
import ParleyTestSupport

/// The oracle behind the road-noise bound (MaskBound) does what a bound must: it gives back a
/// clean talker whole, and beats the noisy mic by as much as a talker sparse in frequency allows.
@Suite struct MaskBoundTests {
    static let rate = 24000
    static let near = EchoFixture.pcm(EchoFixture.scaled(EchoFixture.looped(EchoFixture.nearSpeech(), count: 4 * rate), toRMS: 1500))
    static let span = rate..<(3 * rate)

    @Test func aCleanTalkerComesThroughWhole() {
        #expect(MaskBound.nearEndSDR(mic: Self.near, near: Self.near, Self.span) > 40)
    }

    @Test func whiteNoiseAsLoudAsTheTalkerIsMostlyTakenOut() {
        let noise = EchoFixture.noise(count: Self.near.count, rms: 1500)
        let mic = zip(Self.near, noise).map { Int16(clamping: Int($0) + Int($1.rounded())) }
        let noisy = EchoMetrics.nearEndSDR(out: mic, near: Self.near, Self.span)
        let bound = MaskBound.nearEndSDR(mic: mic, near: Self.near, Self.span)
        #expect(abs(noisy) < 1)  // 0 dB in
        #expect(bound > noisy + 8)
    }
}
