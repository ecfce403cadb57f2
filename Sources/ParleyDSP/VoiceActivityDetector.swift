/// Voice activity on cleaned 24 kHz frames: frame energy against a tracked noise floor,
/// with a hangover so word gaps do not flicker. Used instead of speexdsp's VAD, which
/// libspeexdsp itself calls "a hack" (and announces on stderr, breaking journald lines).
/// Pure arithmetic: no allocation.
public struct VoiceActivityDetector: Sendable {
    /// Speech when the frame is this far above the noise floor.
    public var thresholdDecibels: Float = 9
    /// Frames too quiet to be speech whatever the floor (about -55 dBFS).
    public var absoluteFloorDecibels: Float = -55
    /// Frames the flag stays on after the last loud one (200 ms).
    public var hangoverFrames = 20

    private var noiseFloor: Float = -60
    private var hangover = 0
    /// The last frame's level (dBFS).
    public private(set) var level: Float = -120

    public init() {}

    public mutating func update(_ frame: UnsafePointer<Int16>, count: Int) -> Bool {
        level = 10 * log10f(Self.meanSquare(frame, count: count) / (32768 * 32768) + 1e-12)
        // The floor falls at once to quieter frames and rises slowly (~3 dB/s at 10 ms
        // frames), so it follows the road noise but not the speech.
        noiseFloor = level < noiseFloor ? level : noiseFloor + 0.03
        if level > noiseFloor + thresholdDecibels && level > absoluteFloorDecibels {
            hangover = hangoverFrames
            return true
        }
        if hangover > 0 {
            hangover -= 1
            return true
        }
        return false
    }

    /// Mean of the squared samples (16-bit scale).
    @inline(__always) public static func meanSquare(_ x: UnsafePointer<Int16>, count: Int) -> Float {
        var sum: Float = 0
        for i in 0..<count {
            let v = Float(x[i])
            sum += v * v
        }
        return sum / Float(max(1, count))
    }
}

#if canImport(Glibc)
import Glibc
#endif
