/// The capture chain's own echo return loss enhancement, measured live: what the chain
/// took out of the mic while the far end talked and the near end was quiet. Pure arithmetic
/// on per-frame levels, fed by `CaptureChain` on the capture thread; no allocation.
///
/// Frames are grouped in 100 ms blocks. A block counts when the reference carried audio
/// (above −45 dBFS) in it and in the block before (the echo of the one before is still
/// arriving). Near-end speech is told from echo by what the chain leaves of it: a block
/// whose ERLE falls 12 dB below the running median of blocks is double talk (the talker
/// is kept, so little was taken out) and is left out. The median follows a lasting change
/// (a door opening, a moved reference) within seconds, so a canceller that lost the echo
/// is measured as lost, not excluded. A measure is the energy ratio over its blocks, the
/// same as the echo rig's offline figure; it ends with the answer (1 s without reference)
/// or after 8 s of counted audio, whichever comes first, and needs 1 s of counted audio.
public struct EchoHealthMeter: Sendable {
    public struct Measure: Sendable, Equatable {
        public var erleDecibels: Double
        /// Far-end-only audio the measure rests on.
        public var farEndOnlySeconds: Double
        /// Counted blocks in which the mic reached full scale (a clipping mic).
        public var micClippedFraction: Double
        /// ERLE on the loudest far-end blocks less on the softest (3 dB either side of their
        /// running mean); well below zero when the echo distorts at high levels (a speaker or
        /// amplifier driven into clipping). Nil without enough of both.
        public var loudLessSoftDecibels: Double?

        public init(erleDecibels: Double, farEndOnlySeconds: Double, micClippedFraction: Double,
                    loudLessSoftDecibels: Double?) {
            self.erleDecibels = erleDecibels
            self.farEndOnlySeconds = farEndOnlySeconds
            self.micClippedFraction = micClippedFraction
            self.loudLessSoftDecibels = loudLessSoftDecibels
        }
    }

    public static let blockFrames = 10
    /// Mean square of a reference block worth measuring against (−45 dBFS).
    static let activeReference: Float = 32768 * 32768 * 3.16e-5
    static let doubleTalkDecibels: Float = 15
    static let medianStepDecibels: Float = 0.5
    static let endBlocks = 10
    static let fullBlocks = 80
    static let minimumBlocks = 10

    private let blockSeconds: Double
    // The block being filled (mean squares summed over its frames).
    private var frames = 0
    private var mic: Float = 0, out: Float = 0, reference: Float = 0
    private var micPeak: Int16 = 0
    private var previousReference: Float = 0
    // Across measures: the typical block ERLE and reference level.
    private var medianERLE: Float?
    private var meanReferenceLevel: Float?
    // The measure being gathered.
    private var sums = Sums()
    private var quietBlocks = 0

    private struct Sums {
        var mic = 0.0, out = 0.0
        var loudMic = 0.0, loudOut = 0.0, loudBlocks = 0
        var softMic = 0.0, softOut = 0.0, softBlocks = 0
        var blocks = 0, clipped = 0
    }

    /// - Parameter frameSeconds: one frame's length (0.01 at 240 samples and 24 kHz).
    public init(frameSeconds: Double) {
        blockSeconds = frameSeconds * Double(Self.blockFrames)
    }

    /// One frame's mean squares (16-bit scale) before and after the chain, and of its
    /// reference, and the mic's largest magnitude. Returns a measure when one ends.
    public mutating func add(micMeanSquare: Float, outMeanSquare: Float, referenceMeanSquare: Float,
                             micPeak peak: Int16) -> Measure? {
        mic += micMeanSquare
        out += outMeanSquare
        reference += referenceMeanSquare
        micPeak = max(micPeak, peak)
        frames += 1
        guard frames == Self.blockFrames else { return nil }
        defer {
            previousReference = reference
            frames = 0
            mic = 0; out = 0; reference = 0; micPeak = 0
        }
        return endBlock()
    }

    private mutating func endBlock() -> Measure? {
        let n = Float(Self.blockFrames)
        let active = reference / n > Self.activeReference && previousReference / n > Self.activeReference
        guard active, mic > 0 else {
            quietBlocks += 1
            return quietBlocks >= Self.endBlocks ? finish() : nil
        }
        quietBlocks = 0
        let erle = Self.decibels(mic, max(out, 1e-3))
        let median = medianERLE ?? erle
        // A sign step tracks the median; blocks left out move it a tenth as fast, so a
        // minute-long excursion still gets in while a sentence of double talk does not.
        let doubleTalk = erle < median - Self.doubleTalkDecibels
        let step = Self.medianStepDecibels * (doubleTalk ? 0.1 : 1)
        medianERLE = erle > median ? median + step : median - step
        if doubleTalk { return nil }

        let level = Self.decibels(reference, n)
        let meanLevel = meanReferenceLevel ?? level
        meanReferenceLevel = meanLevel + (level - meanLevel) * 0.02
        sums.mic += Double(mic)
        sums.out += Double(out)
        sums.blocks += 1
        if micPeak >= 32000 { sums.clipped += 1 }
        if level > meanLevel + 3 {
            sums.loudMic += Double(mic); sums.loudOut += Double(out); sums.loudBlocks += 1
        } else if level < meanLevel - 3 {
            sums.softMic += Double(mic); sums.softOut += Double(out); sums.softBlocks += 1
        }
        return sums.blocks >= Self.fullBlocks ? finish() : nil
    }

    /// The measure so far (the echo rig reads it at the end of a run), if long enough.
    public var current: Measure? {
        guard sums.blocks >= Self.minimumBlocks else { return nil }
        let s = sums
        let loudLessSoft: Double? = s.loudBlocks >= 5 && s.softBlocks >= 5
            ? Self.decibels(s.loudMic, s.loudOut) - Self.decibels(s.softMic, s.softOut) : nil
        return Measure(erleDecibels: Self.decibels(s.mic, s.out),
                       farEndOnlySeconds: Double(s.blocks) * blockSeconds,
                       micClippedFraction: Double(s.clipped) / Double(s.blocks),
                       loudLessSoftDecibels: loudLessSoft)
    }

    private mutating func finish() -> Measure? {
        let measure = current
        sums = Sums()
        return measure
    }

    @inline(__always) static func decibels(_ a: Float, _ b: Float) -> Float {
        10 * log10f(max(a, 1e-9) / max(b, 1e-9))
    }

    @inline(__always) static func decibels(_ a: Double, _ b: Double) -> Double {
        10 * log10(max(a, 1e-9) / max(b, 1e-9))
    }
}

#if canImport(Glibc)
import Glibc
#endif
