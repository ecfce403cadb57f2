#if canImport(Glibc)
import Glibc
#endif

/// One note of an earcon; frequency 0 is a pause.
public struct Tone: Sendable, Equatable {
    public var frequency: Double
    public var milliseconds: Int

    public init(_ frequency: Double, milliseconds: Int) {
        self.frequency = frequency
        self.milliseconds = milliseconds
    }
}

/// Renders short tone sequences for audio cues, so no binary assets need to ship.
/// Each note fades in and out over a few milliseconds: a hard edge clicks.
public enum Earcon {
    public static let fadeMilliseconds = 5

    /// `amplitude` is a fraction of full scale (0...1).
    public static func render(_ tones: [Tone], rate: Int, amplitude: Double) -> [Int16] {
        let peak = max(0, min(1, amplitude)) * Double(Int16.max)
        var out: [Int16] = []
        out.reserveCapacity(tones.reduce(0) { $0 + $1.milliseconds } * rate / 1000)
        for tone in tones {
            let count = tone.milliseconds * rate / 1000
            guard tone.frequency > 0 else {
                out.append(contentsOf: repeatElement(0, count: count))
                continue
            }
            let fade = max(1, min(count / 2, fadeMilliseconds * rate / 1000))
            let step = 2 * Double.pi * tone.frequency / Double(rate)
            for i in 0..<count {
                let edge = min(i, count - 1 - i)
                let envelope = edge >= fade ? 1 : 0.5 - 0.5 * cos(Double.pi * Double(edge) / Double(fade))
                out.append(Int16((peak * envelope * sin(step * Double(i))).rounded()))
            }
        }
        return out
    }
}
