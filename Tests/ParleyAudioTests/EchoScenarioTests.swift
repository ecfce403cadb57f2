import Testing
@testable import ParleyAudio

/// The echo canceller in the conditions a field device meets (EchoRig): one clock, two
/// drifting clocks, an echo that arrives before any reported delay says, AGC on. Each
/// prints its figures on one line; `make bench` collects them into bench/results.json.
@Suite(.serialized) struct EchoScenarioTests {
    func report(_ name: String, _ r: EchoRig.Result) {
        print("AEC scenario \(name): erle \(r.erle) dB, double-talk SDR \(r.doubleTalkSDR) dB, convergence \(r.convergenceSeconds) s, "
              + "resampler \(r.resamplerPPM) ppm, probe correction \(r.probeCorrectionMilliseconds) ms, "
              + "realignments \(r.realignments), near-end output RMS \(r.nearEndOutputRMS)")
    }

    @Test func oneClock() {
        let r = EchoRig.run(.init())
        report("stable", r)
        #expect(r.erle >= 30)
        #expect(r.doubleTalkSDR >= 15)
        #expect(r.convergenceSeconds <= 3)
        #expect(abs(r.resamplerPPM) < 5)
    }

    @Test(arguments: [100.0, -100.0]) func driftingClocks(ppm: Double) {
        let r = EchoRig.run(.init(driftPPM: ppm))
        report(ppm > 0 ? "drift_100ppm" : "drift_minus_100ppm", r)
        #expect(r.erle >= 25)
        #expect(abs(r.resamplerPPM - ppm) < 10)  // the reference follows the mic's clock
    }

    @Test func echoEarlierThanTheDelaysSayIsFoundByTheProbe() {
        let r = EchoRig.run(.init(echoEarlyMilliseconds: 50, probe: true))
        report("misaligned_plus_50ms", r)
        #expect(r.erle >= 25)
        // The echo came 10 ms before the reference (40 ms room − 50 ms): the probe shortens
        // the lead by 15 ms, so the reference comes 5 ms (the margin) before the echo.
        #expect(abs(r.probeCorrectionMilliseconds + 15) < 1)
    }

    @Test func withoutTheProbeAnEarlyEchoIsNotCancelled() {
        let r = EchoRig.run(.init(echoEarlyMilliseconds: 50))
        report("misaligned_plus_50ms_no_probe", r)
        #expect(r.erle < 20)  // the failure the probe exists for
    }

    @Test func gainNeverRaisesResidualEcho() {
        let plain = EchoRig.run(.init())
        let r = EchoRig.run(.init(agc: true))
        report("agc", r)
        #expect(r.erle >= 28)
        #expect(r.erle >= plain.erle - 2)
        // The quiet talker (-33 dBFS) is brought up towards the target.
        #expect(r.nearEndOutputRMS > 2 * plain.nearEndOutputRMS)
    }
}
