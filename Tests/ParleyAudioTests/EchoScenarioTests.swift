import Glibc
import Testing
import ParleyDSP
@testable import ParleyAudio

/// The echo canceller in the conditions a field device meets (EchoRig): one clock, two
/// drifting clocks, an echo that arrives before any reported delay says, AGC on. Each
/// prints its figures on one line; `make bench` collects them into bench/results.json.
@Suite(.serialized) struct EchoScenarioTests {
    func report(_ name: String, _ r: EchoRig.Result) {
        print("AEC scenario \(name): erle \(r.erle) dB, double-talk SDR \(r.doubleTalkSDR) dB, convergence \(r.convergenceSeconds) s, "
              + "resampler \(r.resamplerPPM) ppm, drift estimate \(r.driftEstimatePPM) ppm, probe correction \(r.probeCorrectionMilliseconds) ms, "
              + "realignments \(r.realignments), near-end output RMS \(r.nearEndOutputRMS)"
              + (r.reconvergenceSeconds.map { ", reconvergence \($0) s" } ?? "")
              + (r.doubleTalkSDRWithoutEcho.map { ", double-talk SDR without echo \($0) dB" } ?? "")
              + (r.doubleTalkSDRMaskBound.map { ", double-talk SDR bound of a per-bin gain \($0) dB" } ?? "")
              + (r.speechAlignmentLagMilliseconds.map { ", aligned on speech at a lag of \($0) ms" } ?? "")
              + (r.speakerCurve.map { ", speaker limit \($0.limit.map(String.init) ?? "none") (\($0.straightDecibels) → \($0.erleDecibels) dB on the recording)" } ?? ""))
    }

    @Test func oneClock() {
        let r = EchoRig.run(.init())
        report("stable", r)
        #expect(r.speakerCurve != nil && r.speakerCurve?.limit == nil)  // looked for, and none: it plays straight
        #expect(r.erle >= 30)
        #expect(r.doubleTalkSDR >= 15)
        // The first answer after start: the speech aligner moves the reference ~1.7 s in and
        // restarts the canceller (2 s without it).
        #expect(r.convergenceSeconds <= 4)
        #expect(abs(r.resamplerPPM) < 5)
    }

    /// Separate clocks (a USB speakerphone, a HAT codec): the reference follows the mic's
    /// clock at the estimated rate, and the alignment stays put once it does.
    @Test(arguments: [100.0, -100.0, 200.0, -200.0]) func driftingClocks(ppm: Double) {
        let r = EchoRig.run(.init(driftPPM: ppm))
        report("drift_\(ppm > 0 ? "" : "minus_")\(Int(abs(ppm)))ppm", r)
        #expect(r.speakerCurve?.limit == nil)
        #expect(r.erle >= 42)
        #expect(r.doubleTalkSDR >= 15)
        #expect(abs(r.driftEstimatePPM - ppm) <= abs(ppm) * 0.02)  // within 2 % after 10 s of far end
        #expect(abs(r.resamplerPPM - ppm) <= abs(ppm) * 0.02)
    }

    @Test func echoEarlierThanTheDelaysSayIsFoundByTheProbe() {
        let r = EchoRig.run(.init(echoEarlyMilliseconds: 50, probe: true))
        report("misaligned_plus_50ms", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 35)
        #expect(r.doubleTalkSDR >= 15)
        // The echo came 10 ms before the reference (40 ms room − 50 ms): the probe shortens
        // the lead by 15 ms, so the reference comes 5 ms (the margin) before the echo.
        #expect(abs(r.probeCorrectionMilliseconds + 15) < 1)
    }

    /// `dsp.aec_extra_delay_ms` under the aligner's hard limit (40 ms) is in force from the
    /// first reference, not steered to at 100 ppm over minutes.
    @Test func aConfiguredMarginHoldsFromTheFirstReference() {
        var s = EchoRig.Scenario()
        s.extraDelayMilliseconds = 30  // the echo 10 ms after the reference instead of 40
        let r = EchoRig.run(s)
        report("extra_delay_30ms", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 38)
        #expect(abs(r.resamplerPPM) < 5)  // nothing left to steer
    }

    /// Without the probe, the far end's first answer finds the early echo (SpeechEchoAligner).
    @Test func withoutTheProbeAnEarlyEchoIsFoundOnTheAnswersSpeech() throws {
        let r = EchoRig.run(.init(echoEarlyMilliseconds: 50))
        report("misaligned_plus_50ms_no_probe", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 35)
        #expect(abs(try #require(r.speechAlignmentLagMilliseconds) + 10) < 1)  // 40 ms room − 50 ms
    }

    @Test func withNeitherProbeNorAlignmentAnEarlyEchoIsNotCancelled() {
        var s = EchoRig.Scenario(echoEarlyMilliseconds: 50)
        s.alignOnSpeech = false
        let r = EchoRig.run(s)
        report("misaligned_plus_50ms_unaligned", r)
        #expect(r.erle < 20)  // the failure the probe and the alignment exist for
    }

    @Test func gainNeverRaisesResidualEcho() {
        let plain = EchoRig.run(.init())
        let r = EchoRig.run(.init(agc: true))
        report("agc", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 28)
        #expect(r.erle >= plain.erle - 2)
        // The quiet talker (-33 dBFS) is brought up towards the target.
        #expect(r.nearEndOutputRMS > 2 * plain.nearEndOutputRMS)
    }

    /// Cards at 48 kHz (most USB speakerphones) and 16 kHz (many HAT codecs and USB
    /// headsets): the far end is resampled to the card and the mic back to 24 kHz, so the
    /// echo comes through two resamplers the reference does not; a 16 kHz card carries
    /// nothing above 8 kHz for the canceller to learn.
    @Test(arguments: [48000, 16000]) func cardsAtOtherRates(rate: Int) {
        var s = EchoRig.Scenario()
        s.deviceRate = rate
        let r = EchoRig.run(s)
        report("device_\(rate / 1000)khz", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        // 16 kHz: 32 dB with the echo left 40 ms behind the reference; 48.5 once the first
        // answer's speech has put it 5 ms behind (docs/AUDIO.md, where the echo sits).
        #expect(r.erle >= 42)
        #expect(r.doubleTalkSDR >= 15)
    }

    /// The chain's own live ERLE (what status and metrics show) against the rig's offline
    /// figure over the same span of far-end-only audio: within 3 dB, while the canceller is
    /// undisturbed and over the double talk, the door opening or the volume step and the 5 s
    /// after each (where the blips a disturbed canceller leaves must count, and the talker
    /// must not). A measure starts over when the alignment moves the reference (the
    /// canceller restarts), and the offline span with it.
    @Test(arguments: ["stable", "drift", "door", "volume", "48khz"]) func theLiveMeasureAgreesWithTheRig(name: String) {
        var s = EchoRig.Scenario()
        switch name {
        case "drift": s.driftPPM = 200
        case "door": s.pathChangeSeconds = 15
        case "volume": s.volumeStepDecibels = 6
        case "48khz": s.deviceRate = 48000
        default: break
        }
        let r = EchoRig.run(s)
        let pairs = EchoRig.liveAgainstOffline(r)
        print("AEC live \(name): " + pairs.map { "\($0.live) dB (offline \($0.offline) dB)" }.joined(separator: ", "))
        #expect(pairs.count >= 3)
        var worst = (clear: 0.0, afterDoubleTalk: 0.0)
        let disturbances = [(25.0, 36.0)] + (s.changeSeconds.map { [($0, $0 + 5)] } ?? [])
        for (i, pair) in pairs.enumerated() {
            // Spans the double talk (25–31 s), the door or the volume change, or the 5 s after.
            let begun = i == 0 ? 0 : r.live[i - 1].seconds
            let afterDoubleTalk = disturbances.contains { r.live[i].seconds > $0.0 && begun < $0.1 }
            let off = abs(pair.live - pair.offline)
            #expect(off <= 3, "measure \(i)")
            if afterDoubleTalk { worst.afterDoubleTalk = max(worst.afterDoubleTalk, off) } else { worst.clear = max(worst.clear, off) }
        }
        print("AEC live deviation \(name): clear \(worst.clear) dB, after double talk \(worst.afterDoubleTalk) dB")
    }

    @Test func theLiveMeasureSeesACancellerThatLostTheEcho() {
        var s = EchoRig.Scenario(echoEarlyMilliseconds: 50)  // neither probe nor alignment: nothing cancelled
        s.alignOnSpeech = false
        let r = EchoRig.run(s)
        #expect(r.live.count >= 3)
        for entry in r.live { #expect(entry.measure.erleDecibels < 6) }
    }

    // Vans: what a device in a service van meets.

    /// Soft clipping above about −12 dBFS: the far end's peaks (about −6 dBFS) are squashed.
    /// Against the reference as sent, a linear canceller takes out 14 dB; the first answer
    /// finds the speaker's curve (`SpeakerCurveFit`) and the reference is bent to match.
    @Test func aSmallSpeakerDrivenHard() throws {
        let r = EchoRig.run(.init(speakerLimit: 8000))
        report("van_speaker_clipping", r)
        let limit = Double(try #require(r.speakerCurve?.limit))
        #expect(abs(20 * log10(limit / 8000)) <= 1)
        #expect(r.erle >= 38)
        #expect(r.doubleTalkSDR >= 15)
        var straight = EchoRig.Scenario(speakerLimit: 8000)
        straight.fitSpeakerCurve = false
        let without = EchoRig.run(straight)
        report("van_speaker_clipping_straight", without)
        #expect(without.erle < 20)  // what the curve is for
    }

    /// An amplifier that clips hard at its rail (about −13 dBFS) instead: not the curve the
    /// fit tries (tanh), but the nearest one still takes out most of what straight leaves.
    @Test func anAmplifierThatClipsHard() throws {
        var s = EchoRig.Scenario()
        s.speakerClip = 7000
        let r = EchoRig.run(s)
        report("van_amplifier_clipping", r)
        #expect(r.speakerCurve?.limit != nil)
        #expect(r.erle >= 22)
        #expect(r.doubleTalkSDR >= 15)
    }

    @Test func aDoorOpensMidAnswer() throws {
        let r = EchoRig.run(.init(pathChangeSeconds: 15))
        report("van_door_opens", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 30)
        #expect(r.doubleTalkSDR >= 15)
        #expect(try #require(r.reconvergenceSeconds) <= 5)
    }

    @Test func roadNoiseThroughoutTheAnswerAndTheTalk() throws {
        let r = EchoRig.run(.init(roadNoiseDBFS: -30))
        report("van_road_noise", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 25)  // the echo alone, told from the noise by a shadow run
        // The talker is 3 dB above the road: what the suppressor leaves of the noise bounds the
        // SDR (10 dB with no echo at all); the echo and its cancellation cost under 1 dB more.
        #expect(r.doubleTalkSDR >= 8)
        let withoutEcho = try #require(r.doubleTalkSDRWithoutEcho)
        #expect(withoutEcho - r.doubleTalkSDR < 1)
        // Even an oracle gain per bin (MaskBound) stays under 15 dB here (docs/AUDIO.md); the
        // suppressor keeps within 5 dB of it.
        let bound = try #require(r.doubleTalkSDRMaskBound)
        #expect(bound > withoutEcho && bound - withoutEcho < 5)
    }

    /// The road quieter against the talker: the chain follows the per-bin bound up, within
    /// 7 dB of it, until the residual echo (18.5 dB on one clock) sets the SDR instead.
    @Test(arguments: [-33, -36, -39, -42] as [Float]) func roadNoiseAtLowerLevels(decibels: Float) throws {
        let r = EchoRig.run(.init(roadNoiseDBFS: decibels))
        let bound = try #require(r.doubleTalkSDRMaskBound)
        print("AEC road noise at \(Int(decibels)) dBFS: double-talk SDR \(r.doubleTalkSDR) dB, without echo \(r.doubleTalkSDRWithoutEcho ?? .nan) dB, bound \(bound) dB")
        #expect(bound - r.doubleTalkSDR < 7)
        #expect(r.doubleTalkSDR >= 11 + Double(-33 - decibels) / 3)  // about 1 dB better per 3 dB less noise
    }

    @Test func theVolumeTurnedUpMidAnswer() throws {
        // +6 dB on the card's mixer at 15 s: the echo grows, the reference does not.
        let r = EchoRig.run(.init(volumeStepDecibels: 6))
        report("van_volume_up", r)
        #expect(r.speakerCurve?.limit == nil)  // a straight speaker stays straight
        #expect(r.erle >= 30)
        #expect(try #require(r.reconvergenceSeconds) <= 5)
    }
}
