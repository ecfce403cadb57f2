import Glibc
@testable import ParleyConfig
import ParleyDSP
import ParleyTestSupport
import Synchronization
@testable import ParleyAudio

/// A van in a test: the real `CaptureProcessor` (reference alignment, drift resampling,
/// canceller, noise suppression, gain) fed the way the audio threads feed it, with two
/// simulated device clocks, a room, and the control plane's drift estimate (4 readings a second).
///
/// Playback writes 20 ms periods on its clock with 40 ms queued (the playback delay it
/// reports); the speaker's sound reaches the mic through a room (40 ms bulk delay +
/// reflections), optionally `echoEarlyMilliseconds` earlier than any delay reports (a
/// converter delay ALSA does not know); the mic is sampled on a clock `driftPPM` faster.
///
/// Timeline (s): 0–1 probe sweep (when probing) · 1–7 near end alone (a quiet talker) ·
/// 7–25 far end alone · 25–31 double talk · 31–39 far end alone.
struct EchoRig {
    struct Scenario {
        var driftPPM = 0.0
        var echoEarlyMilliseconds = 0
        var probe = false
        /// `dsp.aec_align_on_speech` (on by default, as in the product; off with the probe).
        var alignOnSpeech = true
        var agc = false
        var residualEchoSuppression = true
        /// A small speaker driven hard: what it plays soft-clips (L·tanh(x/L)) above this
        /// level, while the reference stays the linear signal.
        var speakerLimit: Float?
        /// A speaker that clips hard instead (its amplifier's rail): min(max(x, −L), L).
        var speakerClip: Float?
        /// `dsp.aec_speaker_curve`: the speaker's curve found on the first answer (after the alignment).
        var fitSpeakerCurve = true
        /// The echo path changes at this time (a door opens): another room from then on.
        var pathChangeSeconds: Double?
        /// The card's volume (after the reference: a hardware mixer) steps by this much at 15 s.
        var volumeStepDecibels: Float = 0
        /// Road noise at the mic: brown noise at this RMS level (dBFS).
        var roadNoiseDBFS: Float?
        /// The far end silent: the shadow run that tells echo from noise.
        var farEndMuted = false
        /// `dsp.aec_extra_delay_ms`: the reference held back by this much more.
        /// The card's rate (playback and capture): the engine resamples the far end from
        /// 24 kHz to it and the mic back; a 16 kHz card plays and hears nothing above 8 kHz.
        var deviceRate = 24000
        var extraDelayMilliseconds = 0

        /// When the echo path changes, if it does.
        var changeSeconds: Double? { pathChangeSeconds ?? (volumeStepDecibels != 0 ? 15 : nil) }
    }

    struct Result {
        /// Far-end-only ERLE after convergence: 17–25 s and 31.5–39 s.
        var erle: Double
        /// Near-end SDR in double talk (see `EchoMetrics.nearEndSDR`).
        var doubleTalkSDR: Double
        /// With road noise: the same SDR from the shadow run with the far end muted — the
        /// talker against the noise alone, so the echo's own cost is the difference.
        var doubleTalkSDRWithoutEcho: Double?
        /// With road noise: the best SDR any suppressor of the chain's kind could reach on the
        /// shadow run's mic (`MaskBound`, an oracle that knows the talker).
        var doubleTalkSDRMaskBound: Double?
        /// From far-end onset until every 1 s window of it reaches 20 dB ERLE.
        var convergenceSeconds: Double
        var resamplerPPM: Double
        /// The control plane's clock drift estimate after 10 s of far-end audio (17 s).
        var driftEstimatePPM: Double
        var probeCorrectionMilliseconds: Double
        /// The echo's lag behind the reference the speech aligner found (before its move).
        var speechAlignmentLagMilliseconds: Double?
        var realignments: Int
        /// The speaker's curve found (`SpeakerCurveFit`), and when it took effect (s).
        var speakerCurve: SpeakerCurveFit.Result?
        var speakerCurveSeconds: Double?
        /// When a probe or speech correction last moved the reference (s): the canceller
        /// and the live measure in progress started over there.
        var restartedSeconds: Double?
        /// Output level of near-end speech alone (RMS), to see the gain act.
        var nearEndOutputRMS: Double
        /// After the echo path changed: until every 1 s window is back at 20 dB ERLE.
        var reconvergenceSeconds: Double?
        /// The chain's own live echo measures, with when each ended (s), the last one
        /// still running at the end of the run.
        var live: [(seconds: Double, measure: EchoHealthMeter.Measure)]
        /// What the mic heard and what the chain made of it.
        var mic: [Int16]
        var out: [Int16]
    }

    static let rate = 24000
    static let seconds = 39
    static let period = 480
    static let playbackQueued = 960

    struct Signals {
        let far: [Float]        // speech the far end sends (playback clock), without the probe; 1 s longer than the mic
        let near: [Float]       // near end (mic clock)
        let noise: [Float]
    }

    static let signals: Signals = {
        let count = seconds * rate
        let farVoice = EchoFixture.farSpeech()
        let nearVoice = EchoFixture.nearSpeech()
        // The far end talks on for a second after the mic stops, so an echo that comes
        // early has its last moments too (cut, the canceller would subtract echo the mic
        // never heard, and the rig would count it as residual).
        let farSpeech = EchoFixture.scaled(EchoFixture.looped(farVoice, count: count + rate), toRMS: 3300)  // about -20 dBFS
        var far = [Float](repeating: 0, count: count + rate)
        for i in (7 * rate)..<far.count { far[i] = farSpeech[i] }
        var near = [Float](repeating: 0, count: count)
        let quiet = EchoFixture.scaled(EchoFixture.looped(nearVoice, count: 6 * rate), toRMS: 700)  // about -33 dBFS
        let talk = EchoFixture.scaled(EchoFixture.looped(Array(nearVoice.reversed()), count: 6 * rate), toRMS: 1500)
        for i in 0..<(6 * rate) {
            near[1 * rate + i] = quiet[i]
            near[25 * rate + i] = talk[i]
        }
        return Signals(far: far, near: near, noise: EchoFixture.noise(count: count, rms: 18))
    }()

    static func settings(_ s: Scenario) -> DSPSettings {
        DSPSettings(resamplerQuality: 5, echoCancellation: true, echoTailMilliseconds: 200, echoExtraDelayMilliseconds: s.extraDelayMilliseconds,
                    driftWarningPPM: 500, residualEchoSuppression: s.residualEchoSuppression, noiseSuppression: true,
                    noiseSuppressDecibels: -15, automaticGain: s.agc, automaticGainLevel: 8000,
                    automaticGainMaximumDecibels: 20, echoDelayProbe: s.probe, echoProbeMarginMilliseconds: 5,
                    voiceActivity: false)
    }

    /// What the mic hears, on its own clock, at the card's rate: the far end resampled to
    /// it by the engine's resampler, through the room, plus the near end and noise.
    static func mic(far: [Float], _ s: Scenario) -> [Int16] {
        let signals = Self.signals
        let card = s.deviceRate
        let at = { (seconds: Double) in Int(seconds * Double(card)) }
        let room = { (taps: [(offset: Int, gain: Float)]) in taps.map { ($0.offset * card / rate, $0.gain) } }
        var played = resampled(EchoFixture.pcm(far), from: rate, to: card).map(Float.init)
        if let limit = s.speakerLimit { played = played.map { limit * tanhf($0 / limit) } }
        if let clip = s.speakerClip { played = played.map { min(max($0, -clip), clip) } }
        var echo = EchoFixture.convolve(played, room(EchoFixture.room(delayMilliseconds: 40)))
        if let change = s.pathChangeSeconds {  // the door opens: longer and different reflections
            let after = EchoFixture.convolve(played, room(EchoFixture.room(delayMilliseconds: 40, rt60: 0.25, seed: 77)))
            for i in at(change)..<echo.count { echo[i] = after[i] }
        }
        if s.volumeStepDecibels != 0 {
            let gain = powf(10, s.volumeStepDecibels / 20)
            for i in at(15)..<echo.count { echo[i] *= gain }
        }
        let early = s.echoEarlyMilliseconds * card / 1000
        if early > 0 { echo = Array(echo[early...]) + [Float](repeating: 0, count: early) }
        var echoPCM = EchoFixture.pcm(echo)
        if s.driftPPM != 0 {  // sampled on a faster (or slower) clock
            let drift = Resampler(rate: card, partsPerMillion: s.driftPPM, quality: 10)
            var out = [Int16](repeating: 0, count: echoPCM.count + 64)
            let made = echoPCM.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { drift.process(i, into: $0) } }
            echoPCM = Array(out.prefix(made)) + [Int16](repeating: 0, count: max(0, echoPCM.count - made))
        }
        let count = seconds * rate
        let road = s.roadNoiseDBFS.map { brownNoise(count: count, rms: 32768 * powf(10, $0 / 20)) }
        let room24 = (0..<count).map { signals.near[$0] + signals.noise[$0] + (road?[$0] ?? 0) }
        let nearAndNoise = resampled(EchoFixture.pcm(room24), from: rate, to: card)
        return (0..<nearAndNoise.count).map { Int16(clamping: Int(echoPCM[$0]) + Int(nearAndNoise[$0])) }
    }

    /// The engine's resampler (quality 5) over a whole signal; the same length in time.
    static func resampled(_ x: [Int16], from: Int, to: Int) -> [Int16] {
        guard from != to else { return x }
        let resampler = Resampler(from: from, to: to, quality: 5)
        let count = x.count * to / from
        var out = [Int16](repeating: 0, count: count + 64)
        let made = x.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { resampler.process(i, into: $0) } }
        return Array(out.prefix(min(made, count))) + [Int16](repeating: 0, count: max(0, count - made))
    }

    /// Each live measure beside the offline ERLE over the same span of far-end-only audio
    /// (from the measure before it, or the far end's start, to its end; double talk left out).
    static func liveAgainstOffline(_ r: Result) -> [(live: Double, offline: Double)] {
        let at = { (t: Double) in min(r.mic.count, Int(t * Double(rate))) }
        var start = 7.0
        return r.live.map { entry in
            defer { start = entry.seconds }
            if let restart = r.restartedSeconds, restart < entry.seconds { start = max(start, restart) }
            let spans = [(start, min(entry.seconds, 25)), (max(start, 31.5), entry.seconds)].filter { $0.0 < $0.1 }
            return (entry.measure.erleDecibels, EchoMetrics.erle(mic: r.mic, out: r.out, spans.map { at($0.0)..<at($0.1) }))
        }
    }

    /// Road noise: white noise integrated with a leak (−6 dB per octave above ~80 Hz).
    static func brownNoise(count: Int, rms: Float) -> [Float] {
        let white = EchoFixture.noise(count: count, rms: 1, seed: 4242)
        var level: Float = 0
        let brown = white.map { w -> Float in
            level = 0.98 * level + w
            return level
        }
        return EchoFixture.scaled(brown, toRMS: rms)
    }

    static func run(_ s: Scenario) -> Result {
        var far = s.farEndMuted ? [Float](repeating: 0, count: signals.far.count) : signals.far
        let sweep = EchoDelayEstimator.sweep(rate: rate)
        if s.probe { for (i, x) in sweep.enumerated() { far[rate / 10 + i] = Float(x) } }
        let farPCM = EchoFixture.pcm(far)  // playback runs on past the mic
        let device = mic(far: far, s)
        let mic = resampled(device, from: s.deviceRate, to: rate)  // what it heard, at 24 kHz for the measures
        let devicePeriod = s.deviceRate / 50  // 20 ms

        let controls = AudioControls(recordsSpeakerCurve: s.fitSpeakerCurve)
        let reference = SampleRing(minimumCapacity: rate)
        let output = SampleRing(minimumCapacity: rate)
        let processor = CaptureProcessor(rate: s.deviceRate, channels: 1, periodFrames: devicePeriod, ring: output, reference: reference,
                                         counters: AudioCounters(), controls: controls, micChannel: 0, micMix: false,
                                         dsp: settings(s))
        var estimator = ClockDriftEstimator(captureRate: s.deviceRate, playbackRate: s.deviceRate)
        var jitter = SplitMix(seed: 5)
        var out = [Int16]()
        out.reserveCapacity(mic.count)
        var sink = [Int16](repeating: 0, count: 4 * period)

        let captureRate = Double(s.deviceRate) * (1 + s.driftPPM / 1e6)
        let micRate = Double(rate) * (1 + s.driftPPM / 1e6)  // the measures' (24 kHz) mic samples per second
        var written = 0
        var nextWrite = 0.0, nextCapture = Double(devicePeriod) / captureRate + 0.0005, nextControl = 1.0
        var captured = 0
        if s.probe { controls.echoRecorder.arm() }
        var probed = !s.probe
        var aligning = s.alignOnSpeech && !s.probe
        var speechAlignment: EchoDelayEstimator.Estimate?
        var curveArmed = false
        var speakerCurve: SpeakerCurveFit.Result?
        var speakerCurveSeconds: Double?
        var driftEstimate = Double.nan
        var restartedSeconds: Double?
        var live: [(seconds: Double, measure: EchoHealthMeter.Measure)] = []
        while captured + devicePeriod <= device.count {
            if nextWrite <= nextCapture && nextWrite <= nextControl {  // playback writes a period
                let upTo = min(farPCM.count, Int((nextWrite * Double(rate)).rounded()) + playbackQueued)
                if upTo > written {
                    farPCM.withUnsafeBufferPointer { _ = reference.push(UnsafeBufferPointer(rebasing: $0[written..<upTo])) }
                    written = upTo
                }
                controls.playbackDelay.store(playbackQueued, ordering: .relaxed)
                controls.playbackDelayNanoseconds.store(Int(nextWrite * 1e9), ordering: .relaxed)
                nextWrite += Double(period) / Double(rate)
            } else if nextCapture <= nextControl {  // capture reads a period, 0.5 ms after it was complete
                device.withUnsafeBufferPointer {
                    processor.process($0.baseAddress! + captured, frames: devicePeriod, captureDelay: period + 12,
                                      now: Int(nextCapture * 1e9))
                }
                captured += devicePeriod
                let ended = controls.echoMeasures.read()
                if ended.measures > live.count, let m = ended.last { live.append((nextCapture, m)) }
                let got = sink.withUnsafeMutableBufferPointer { output.pop(into: $0) }
                out += sink[0..<got]
                nextCapture += Double(devicePeriod) / captureRate
            } else {  // the control plane: clock readings, the probe's answer
                let t = nextControl
                let correction = controls.echoDelayCorrection.load(ordering: .relaxed)
                defer { if controls.echoDelayCorrection.load(ordering: .relaxed) != correction { restartedSeconds = t } }
                estimator.add(
                    capture: .init(frames: Int(t * captureRate) + Int.random(in: -2...2, using: &jitter),
                                   nanoseconds: Int(t * 1e9), epoch: 1),
                    playback: .init(frames: Int(t * Double(s.deviceRate)) + Int.random(in: -2...2, using: &jitter),
                                    nanoseconds: Int(t * 1e9), epoch: 1))
                if let ppm = estimator.driftPPM {
                    controls.referenceDriftMilliPPM.store(Int((ppm * 1000).rounded()), ordering: .relaxed)
                    if t <= 17 { driftEstimate = ppm }
                }
                if !probed, let recording = controls.echoRecorder.take() {
                    probed = true
                    _ = controls.correctEchoDelay(mic: recording.mic, reference: recording.reference, margin: 5 * rate / 1000)
                }
                // The speech aligner (SpeechEchoAligner): armed from the start, records once the
                // far end has talked for a moment, moves the reference unless within 2 ms.
                if aligning && t == 1 { controls.echoRecorder.arm(afterReferenceFrames: AudioEngine.alignAfterReferenceFrames) }
                if aligning && t > 1, let recording = controls.echoRecorder.take() {
                    aligning = false
                    speechAlignment = controls.correctEchoDelay(mic: recording.mic, reference: recording.reference,
                                                                margin: 5 * rate / 1000, tolerance: rate / 500)
                }
                // The speaker's curve (SpeakerCurveFinder): on the first answer once aligned.
                if s.fitSpeakerCurve && !aligning && probed && speakerCurve == nil {
                    if !curveArmed {
                        controls.curveRecorder.arm(afterReferenceFrames: AudioEngine.alignAfterReferenceFrames)
                        curveArmed = true
                    } else if let recording = controls.curveRecorder.take() {
                        var fit = SpeakerCurveFit(mic: recording.mic, reference: recording.reference, frameSize: 240,
                                                  tailSamples: rate / 5, rate: rate)
                        speakerCurve = fit.run()
                        speakerCurveSeconds = t
                        controls.speakerLimit.store(speakerCurve?.limit ?? 0, ordering: .relaxed)
                    }
                }
                nextControl += 0.25
            }
        }
        if let m = processor.currentEchoMeasure { live.append((nextCapture, m)) }
        let micAt = { (a: Double, b: Double) in Int(a * micRate)..<Int(b * micRate) }
        let farOnly = [micAt(17, 25), micAt(31.5, 39)]
        var erle = EchoMetrics.erle(mic: mic, out: out, farOnly)
        var doubleTalkSDRWithoutEcho: Double?, doubleTalkSDRMaskBound: Double?
        if s.roadNoiseDBFS != nil && !s.farEndMuted {
            // Noise louder than the residual echo would cap the ratio: compare the echo alone
            // (mic less the shadow run's mic) with what of it is left (output less the shadow's).
            var shadow = s
            shadow.farEndMuted = true
            let quiet = run(shadow)
            let echo = zip(mic, quiet.mic).map { Int16(clamping: Int($0) - Int($1)) }
            let left = zip(out, quiet.out).map { Int16(clamping: Int($0) - Int($1)) }
            erle = EchoMetrics.erle(mic: echo, out: left, farOnly)
            doubleTalkSDRWithoutEcho = quiet.doubleTalkSDR  // what the noise alone leaves of the talker
            doubleTalkSDRMaskBound = MaskBound.nearEndSDR(mic: quiet.mic, near: EchoFixture.pcm(signals.near), micAt(25, 31))
        }
        return Result(
            erle: erle,
            doubleTalkSDR: EchoMetrics.nearEndSDR(out: out, near: EchoFixture.pcm(signals.near), micAt(25, 31)),
            doubleTalkSDRWithoutEcho: doubleTalkSDRWithoutEcho, doubleTalkSDRMaskBound: doubleTalkSDRMaskBound,
            convergenceSeconds: EchoMetrics.convergence(mic: mic, out: out, micAt(7, 25), rate: Int(micRate), decibels: 20),
            resamplerPPM: Double(controls.referenceRateMilliPPM.load(ordering: .relaxed)) / 1000,
            driftEstimatePPM: driftEstimate,
            probeCorrectionMilliseconds: Double(controls.echoDelayCorrection.load(ordering: .relaxed)) * 1000 / Double(rate),
            speechAlignmentLagMilliseconds: speechAlignment.map { Double($0.lagSamples) * 1000 / Double(rate) },
            realignments: controls.referenceRealignments.load(ordering: .relaxed),
            speakerCurve: speakerCurve, speakerCurveSeconds: speakerCurveSeconds,
            restartedSeconds: restartedSeconds,
            nearEndOutputRMS: EchoMetrics.rms(out, micAt(3, 7)),
            reconvergenceSeconds: s.changeSeconds.map {
                EchoMetrics.convergence(mic: mic, out: out, micAt($0, 25), rate: Int(micRate), decibels: 20)
            },
            live: live, mic: mic, out: out)
    }
}
