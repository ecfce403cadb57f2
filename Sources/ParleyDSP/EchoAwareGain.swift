#if canImport(Glibc)
import Glibc
#endif

/// Automatic gain for the microphone that never raises residual echo.
///
/// speexdsp's AGC measures whatever comes out of the canceller, so while the speaker
/// plays it hears residual echo as a quiet talker and turns it up (36 → 12 dB ERLE in
/// the measurements behind this design). Here the level is learnt only from near-end
/// speech — voiced frames while the far end is silent — and while the far end is active
/// (reference energy within the echo tail) the applied gain is held at unity at most:
/// residual echo is never amplified; a boost resumes 100 ms after the speaker falls
/// silent. Gain falls fast (3 dB per frame) and rises slowly (0.1 dB per frame), ramped
/// sample by sample inside a frame so changes do not click. Pure arithmetic: no allocation.
public struct EchoAwareGain: Sendable {
    /// Wanted RMS of speech, 16-bit scale.
    public let targetLevel: Float
    public let maximumGain: Float
    public let minimumGain: Float = 0.25  // -12 dB for loud talkers
    /// Frames the far end counts as active after its last audible reference frame.
    public let holdFrames: Int
    /// A reference frame above this RMS (about -60 dBFS) is far-end activity.
    public var farEndThreshold: Float = 33
    /// dBFS (how the VAD gives a frame's level) to dB of the RMS on the 16-bit scale.
    private static let fullScaleDecibels: Float = 20 * log10f(32768)

    private var speechLevel: Float?  // RMS of near-end speech, tracked in dB
    private var gain: Float = 1
    private var farEndHold = 0
    private var voice = VoiceActivityDetector()

    /// - Parameters:
    ///   - tailMilliseconds: the echo tail; residual echo can follow the reference that long.
    public init(targetLevel: Int, maximumGainDecibels: Int, tailMilliseconds: Int) {
        self.targetLevel = Float(targetLevel)
        maximumGain = powf(10, Float(maximumGainDecibels) / 20)
        holdFrames = (tailMilliseconds + 100) / 10
    }

    /// Applies the gain to one cleaned frame in place; `reference` is the speaker frame
    /// the canceller used for it.
    public mutating func process(_ frame: UnsafeMutablePointer<Int16>, reference: UnsafePointer<Int16>, count: Int) {
        if VoiceActivityDetector.meanSquare(reference, count: count) > farEndThreshold * farEndThreshold {
            farEndHold = holdFrames
        } else if farEndHold > 0 {
            farEndHold -= 1
        }
        let farEnd = farEndHold > 0
        let voiced = voice.update(UnsafePointer(frame), count: count)
        if !farEnd && voiced {
            let level = voice.level + Self.fullScaleDecibels  // dB of the RMS, 16-bit scale
            speechLevel = speechLevel.map { $0 + (level - $0) * 0.05 } ?? level
        }
        var wanted: Float = 1
        if let speechLevel {
            wanted = max(minimumGain, min(maximumGain, targetLevel / powf(10, speechLevel / 20)))
        }
        if farEnd { wanted = min(wanted, 1) }
        let previous = gain
        gain = wanted < gain ? max(wanted, gain * 0.708) : min(wanted, gain * 1.0116)  // -3 dB, +0.1 dB
        if previous == 1 && gain == 1 { return }
        let step = (gain - previous) / Float(count)
        for i in 0..<count {
            let g = previous + step * Float(i + 1)
            frame[i] = Int16(clamping: Int((Float(frame[i]) * g).rounded()))
        }
    }
}
