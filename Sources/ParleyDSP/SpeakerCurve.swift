import CSpeexDSP
#if canImport(Glibc)
import Glibc
#endif

/// A small speaker (or its amplifier) driven hard squashes its peaks: what it plays is
/// close to `limit·tanh(x/limit)` of what it was sent. The canceller is linear, so against
/// the reference as sent it can only learn part of that echo (the echo rig's clipping
/// speaker: 14 dB). Bent by the same curve, the reference is what the speaker played, the
/// path from there to the mic is linear again, and the canceller learns it as usual.
public enum SpeakerCurve {
    /// Bends `count` samples in place by `limit·tanh(x/limit)`. Capture thread: no allocation.
    @inline(__always)
    public static func bend(_ x: UnsafeMutablePointer<Int16>, count: Int, limit: Float) {
        let inverse = 1 / limit
        for i in 0..<count {
            x[i] = Int16(clamping: Int((limit * tanhf(Float(x[i]) * inverse)).rounded()))
        }
    }
}

/// Finds the speaker's curve from a recording of what the canceller saw (the mic and its
/// aligned reference, `EchoPathRecorder`): a fresh canceller, as the chain's, runs over the
/// recording with the reference bent by each candidate limit, and the limit that cancels
/// most wins — if it beats the straight reference by `minimumGainDecibels`. Candidates go
/// in 3 dB steps from −24 to −1 dBFS, then 1.5 and 0.75 dB either side of the best.
/// Off the audio threads: allocates, and costs 26 passes of the canceller over the recording.
public struct SpeakerCurveFit: Sendable {
    public struct Result: Sendable, Equatable {
        /// The limit to bend the reference by (16-bit scale); nil: the speaker plays straight.
        public var limit: Int?
        /// The recording's ERLE with that limit, and with the straight reference.
        public var erleDecibels: Double
        public var straightDecibels: Double
    }

    /// A curve must cancel this much better than the straight reference to be used.
    public static let minimumGainDecibels = 3.0
    static let coarse: [Float] = (0..<8).map { 2048 * powf(2, Float($0) / 2) }  // −24 … −1.5 dBFS
    static let refinements: [Float] = [1.5, 0.75]
    static let passes = 2

    private let mic: [Int16]
    private let reference: [Int16]
    private let frameSize: Int
    private let tail: Int
    private let rate: Int
    /// Candidates still to try (nil: straight), and each one's ERLE.
    private var pending: [Float?]
    private(set) var tried: [(limit: Float?, erle: Double)] = []
    private var refinement = 0

    /// - Parameters: the recording (the same length), the chain's frame size, its canceller's
    ///   tail and its rate.
    public init(mic: [Int16], reference: [Int16], frameSize: Int, tailSamples: Int, rate: Int) {
        let count = min(mic.count, reference.count) / frameSize * frameSize
        self.mic = Array(mic.prefix(count))
        self.reference = Array(reference.prefix(count))
        self.frameSize = frameSize
        tail = tailSamples
        self.rate = rate
        pending = [nil] + Self.coarse
    }

    /// Runs the next candidate; false once every candidate has run.
    public mutating func step() -> Bool {
        guard !pending.isEmpty else { return false }
        let limit = pending.removeFirst()
        tried.append((limit, erle(limit)))
        if pending.isEmpty && refinement < Self.refinements.count, let best = bestBent?.limit {
            let step = powf(10, Self.refinements[refinement] / 20)
            pending = [best / step, best * step]
            refinement += 1
        }
        return !pending.isEmpty
    }

    /// Runs every candidate.
    public mutating func run() -> Result? {
        while step() {}
        return result
    }

    /// The verdict once every candidate has run; nil when the recording held no far end.
    public var result: Result? {
        guard pending.isEmpty, let straight = tried.first(where: { $0.limit == nil })?.erle, straight.isFinite else { return nil }
        guard let best = bestBent, best.erle >= straight + Self.minimumGainDecibels else {
            return Result(limit: nil, erleDecibels: straight, straightDecibels: straight)
        }
        return Result(limit: Int(best.limit.rounded()), erleDecibels: best.erle, straightDecibels: straight)
    }

    private var bestBent: (limit: Float, erle: Double)? {
        tried.compactMap { t in t.limit.map { ($0, t.erle) } }.max { $0.erle < $1.erle }
    }

    /// ERLE over a second pass through the recording (the first teaches the canceller: 4 s
    /// are not enough for it to learn the path), counting the frames whose reference
    /// carries sound; −∞ without any.
    private func erle(_ limit: Float?) -> Double {
        let echo = speex_echo_state_init(Int32(frameSize), Int32(tail))!
        defer { speex_echo_state_destroy(echo) }
        var r = Int32(rate)
        speex_echo_ctl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, &r)
        var bent = reference
        if let limit { bent.withUnsafeMutableBufferPointer { SpeakerCurve.bend($0.baseAddress!, count: $0.count, limit: limit) } }
        var out = [Int16](repeating: 0, count: frameSize)
        var micEnergy = 0.0, outEnergy = 0.0
        let frames = mic.count / frameSize
        for pass in 0..<Self.passes {
            for f in 0..<frames {
                let at = f * frameSize
                mic.withUnsafeBufferPointer { m in
                    bent.withUnsafeBufferPointer { b in speex_echo_cancellation(echo, m.baseAddress! + at, b.baseAddress! + at, &out) }
                }
                guard pass == Self.passes - 1, reference[at..<(at + frameSize)].contains(where: { abs(Int($0)) > 64 }) else { continue }
                for i in 0..<frameSize {
                    micEnergy += Double(mic[at + i]) * Double(mic[at + i])
                    outEnergy += Double(out[i]) * Double(out[i])
                }
            }
        }
        guard micEnergy > 0 else { return -.infinity }
        return 10 * log10(micEnergy / max(outEnergy, 1))
    }
}
