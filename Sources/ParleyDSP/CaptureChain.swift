import CSpeexDSP
import ParleyConfig

/// The per-frame capture DSP at 24 kHz: echo cancellation (speexdsp MDF) against the
/// samples that went to the speaker, then noise suppression (speex preprocessor, linked to
/// the echo state for residual echo suppression), then gain that never raises residual
/// echo (`EchoAwareGain`, instead of speex's AGC), then voice activity on the result
/// (`VoiceActivityDetector`). With the canceller on, `EchoHealthMeter` measures what the
/// whole chain takes out of the echo. State is allocated in `init`; `process` does not
/// allocate, lock or log.
///
/// The canceller is most of the chain's cost, and an idle device has nothing to cancel.
/// Once the reference has been silent for `restAfterSeconds` (3 s: longer than the
/// tail, and long enough for the canceller's ~1 s spectral averages, which its leak
/// estimate and so the residual echo suppression rest on, to settle), the chain rests:
/// frames skip the canceller, pass a DC notch matching its own (same level, no DC step),
/// and the suppressor is unlinked from the echo state (there is no residual echo; linked,
/// it would keep treating the notch's own low-frequency cut as echo). When the reference
/// wakes, the canceller carries on where it stopped: its echo path (the weights) was never
/// touched, and no click comes from its stale filter memories — its pre- and de-emphasis
/// memories were last set on a frame without echo, where they cancel each other, and its
/// DC notch's memory holds only the DC.
public final class CaptureChain: @unchecked Sendable {
    public let frameSize: Int
    private let echo: OpaquePointer?
    private let preprocess: OpaquePointer?
    private let cleaned: UnsafeMutablePointer<Int16>
    private let detectVoice: Bool
    private var voice = VoiceActivityDetector()
    private var gain: EchoAwareGain?
    private var notch: DCNotch
    /// Rest after this many silent reference frames.
    private let restAfter: Int
    private let linksResidualEcho: Bool
    private var silentReferenceFrames = 0
    /// Frames processed without the canceller since start (for tests).
    public private(set) var restedFrames = 0
    private var meter: EchoHealthMeter
    /// A live echo measure that ended and was not yet taken (see `EchoHealthMeter`).
    private var endedMeasure: EchoHealthMeter.Measure?
    /// The live echo measure that ended since the last call, once.
    public func takeEndedEchoMeasure() -> EchoHealthMeter.Measure? {
        defer { endedMeasure = nil }
        return endedMeasure
    }

    /// The measure being gathered, if long enough to tell.
    public var currentEchoMeasure: EchoHealthMeter.Measure? { meter.current }
    static let restAfterSeconds = 3

    /// - Parameters:
    ///   - frameSize: samples per frame (240 = 10 ms at 24 kHz).
    ///   - rests: false runs the canceller on every frame (for comparisons).
    public init(frameSize: Int, rate: Int, settings: DSPSettings, rests: Bool = true) {
        self.frameSize = frameSize
        detectVoice = settings.voiceActivity
        cleaned = .allocate(capacity: frameSize)
        cleaned.initialize(repeating: 0, count: frameSize)
        notch = DCNotch(rate: rate)
        meter = EchoHealthMeter(frameSeconds: Double(frameSize) / Double(rate))
        let tailFrames = (rate * settings.echoTailMilliseconds / 1000 + frameSize - 1) / frameSize
        restAfter = rests ? max(tailFrames + 2, Self.restAfterSeconds * rate / frameSize) : Int.max
        if settings.echoCancellation {
            let tail = Int32(rate * settings.echoTailMilliseconds / 1000)
            let st = speex_echo_state_init(Int32(frameSize), tail)
            var r = Int32(rate)
            speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &r)
            echo = st
        } else {
            echo = nil
        }
        let needsPreprocess = settings.noiseSuppression || (echo != nil && settings.residualEchoSuppression)
        if needsPreprocess {
            let st = speex_preprocess_state_init(Int32(frameSize), Int32(rate))
            var on: Int32 = settings.noiseSuppression ? 1 : 0
            speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, &on)
            var suppress = Int32(settings.noiseSuppressDecibels)
            speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &suppress)
            var agc: Int32 = 0
            speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_AGC, &agc)
            linksResidualEcho = echo != nil && settings.residualEchoSuppression
            if let echo, linksResidualEcho {
                speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, UnsafeMutableRawPointer(echo))
            }
            preprocess = st
        } else {
            preprocess = nil
            linksResidualEcho = false
        }
        if settings.automaticGain {
            gain = EchoAwareGain(targetLevel: settings.automaticGainLevel,
                                 maximumGainDecibels: settings.automaticGainMaximumDecibels,
                                 tailMilliseconds: settings.echoTailMilliseconds)
        }
    }

    deinit {
        if let preprocess { speex_preprocess_state_destroy(preprocess) }
        if let echo { speex_echo_state_destroy(echo) }
        cleaned.deallocate()
    }

    /// Processes one frame in place. `reference` holds the frame's worth of speaker samples
    /// aligned with it (zeros when nothing played). Returns the voice-activity flag (true
    /// when VAD is off).
    @inline(__always)
    public func process(_ frame: UnsafeMutablePointer<Int16>, reference: UnsafePointer<Int16>) -> Bool {
        guard let echo else { return finish(frame, reference: reference) }
        let mic = Self.level(frame, count: frameSize)
        let referenceMeanSquare = VoiceActivityDetector.meanSquare(reference, count: frameSize)
        cancelEcho(echo, frame, reference: reference, silent: referenceMeanSquare == 0)
        let voiced = finish(frame, reference: reference)
        if let measure = meter.add(micMeanSquare: mic.meanSquare, outMeanSquare: VoiceActivityDetector.meanSquare(frame, count: frameSize),
                                   referenceMeanSquare: referenceMeanSquare, micPeak: mic.peak) {
            endedMeasure = measure
        }
        return voiced
    }

    /// What follows the canceller: noise suppression, gain, voice activity.
    @inline(__always)
    private func finish(_ frame: UnsafeMutablePointer<Int16>, reference: UnsafePointer<Int16>) -> Bool {
        if let preprocess { _ = speex_preprocess_run(preprocess, frame) }
        if gain != nil { gain!.process(frame, reference: reference, count: frameSize) }
        return detectVoice ? voice.update(frame, count: frameSize) : true
    }

    @inline(__always)
    private func cancelEcho(_ echo: OpaquePointer, _ frame: UnsafeMutablePointer<Int16>, reference: UnsafePointer<Int16>,
                            silent: Bool) {
        let wasResting = silentReferenceFrames > restAfter
        silentReferenceFrames = silent ? silentReferenceFrames &+ 1 : 0
        let resting = silentReferenceFrames > restAfter
        if wasResting != resting { linkResidualEcho(resting ? nil : echo) }
        notch.run(frame, into: cleaned, count: frameSize)  // always, so its memory is current
        if resting {
            restedFrames += 1
        } else {
            speex_echo_cancellation(echo, frame, reference, cleaned)
        }
        frame.update(from: cleaned, count: frameSize)
    }

    /// Forgets the echo path learnt so far (the reference moved by a probe correction: the
    /// old path is at the wrong lag and would be unlearnt more slowly than learnt anew).
    /// speexdsp's reset only clears state; nothing is allocated.
    public func restartCanceller() {
        if let echo { speex_echo_state_reset(echo) }
        meter.restart()
    }

    private func linkResidualEcho(_ echo: OpaquePointer?) {
        guard linksResidualEcho, let preprocess else { return }
        speex_preprocess_ctl(preprocess, SPEEX_PREPROCESS_SET_ECHO_STATE, UnsafeMutableRawPointer(echo))
    }

    /// Mean square (16-bit scale) and largest magnitude.
    @inline(__always)
    private static func level(_ x: UnsafePointer<Int16>, count: Int) -> (meanSquare: Float, peak: Int16) {
        var sum: Float = 0
        var peak: Int16 = 0
        for i in 0..<count {
            let v = x[i]
            sum += Float(v) * Float(v)
            peak = max(peak, v == .min ? .max : abs(v))
        }
        return (sum / Float(max(1, count)), peak)
    }
}
