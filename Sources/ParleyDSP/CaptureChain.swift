import CSpeexDSP
import ParleyConfig

/// The per-frame capture DSP at 24 kHz: echo cancellation (speexdsp MDF) against the
/// samples that went to the speaker, then noise suppression (speex preprocessor, linked to
/// the echo state for residual echo suppression), then gain that never raises residual
/// echo (`EchoAwareGain`, instead of speex's AGC), then voice activity on the result
/// (`VoiceActivityDetector`). State is allocated in `init`; `process` does not allocate,
/// lock or log.
public final class CaptureChain: @unchecked Sendable {
    public let frameSize: Int
    private let echo: OpaquePointer?
    private let preprocess: OpaquePointer?
    private let cleaned: UnsafeMutablePointer<Int16>
    private let detectVoice: Bool
    private var voice = VoiceActivityDetector()
    private var gain: EchoAwareGain?

    /// - Parameters:
    ///   - frameSize: samples per frame (240 = 10 ms at 24 kHz).
    public init(frameSize: Int, rate: Int, settings: DSPSettings) {
        self.frameSize = frameSize
        detectVoice = settings.voiceActivity
        cleaned = .allocate(capacity: frameSize)
        cleaned.initialize(repeating: 0, count: frameSize)
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
            if let echo, settings.residualEchoSuppression {
                speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, UnsafeMutableRawPointer(echo))
            }
            preprocess = st
        } else {
            preprocess = nil
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
        if let echo {
            speex_echo_cancellation(echo, frame, reference, cleaned)
            frame.update(from: cleaned, count: frameSize)
        }
        if let preprocess { _ = speex_preprocess_run(preprocess, frame) }
        if gain != nil { gain!.process(frame, reference: reference, count: frameSize) }
        return detectVoice ? voice.update(frame, count: frameSize) : true
    }
}
