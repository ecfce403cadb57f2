/// The capture chain's own echo return loss enhancement, measured live: what the chain
/// took out of the mic while the far end talked and the near end was quiet. Pure arithmetic
/// on per-frame levels, fed by `CaptureChain` on the capture thread; no allocation.
///
/// Frames are grouped in 100 ms blocks. A block counts when the reference carried audio
/// (above −45 dBFS) in it and in the block before (the echo of the one before is still
/// arriving). Near-end speech is told from echo by what the chain leaves of it and by
/// whose rhythm that follows. Blocks whose ERLE falls 15 dB below the running median are
/// held back until there are ten of them in a row (or the run ends); then, if the output's
/// level over the last 2 s rose and fell with the reference's (correlation 0.5 or more at
/// a lag of 0–200 ms), they were residual echo — a canceller that lost the echo or is
/// re-learning it — and count; otherwise they were a talker the chain kept, and are left
/// out. Runs too short for the rhythm (under half a second) are judged by the mic instead:
/// a talker adds to what it hears, so if no block in the run was 3 dB louder against the
/// reference than the echo path usually gives, it was a blip of residual echo, and counts
/// (left out, one such block would outweigh seconds of good ones and the measure read
/// high). A measure is the energy ratio over its blocks, the
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
    /// How much a talker adds to what the mic would hear of the echo alone.
    static let talkerHeardDecibels: Float = 3
    static let endBlocks = 10
    static let fullBlocks = 80
    static let minimumBlocks = 10
    /// Blocks of level history the rhythm is compared over, and the lags tried.
    static let rhythmBlocks = 20
    static let rhythmLags = 3

    private let blockSeconds: Double
    // The block being filled (mean squares summed over its frames).
    private var frames = 0
    private var mic: Float = 0, out: Float = 0, reference: Float = 0
    private var micPeak: Int16 = 0
    private var previousReference: Float = 0
    // Across measures: the typical block ERLE and reference level, and how far the mic
    // sits below the reference (the echo path's gain, as heard).
    private var medianERLE: Float?
    private var medianPathGain: Float?
    private var meanReferenceLevel: Float?
    // The measure being gathered.
    private var sums = Sums()
    /// Blocks held back as possible double talk.
    private var pending = Sums()
    private var quietBlocks = 0
    // The last blocks' reference and output levels (dB), a ring; allocated once.
    private var referenceLevels: [Float]
    private var outLevels: [Float]
    private var historyEnd = 0
    private var historyCount = 0

    private struct Sums {
        var mic = 0.0, out = 0.0
        var loudMic = 0.0, loudOut = 0.0, loudBlocks = 0
        var softMic = 0.0, softOut = 0.0, softBlocks = 0
        var blocks = 0, clipped = 0
        /// Held-back blocks in which the mic heard more than the echo path gives (a talker).
        var heard = 0

        mutating func add(mic: Float, out: Float, clipped clip: Bool, loud: Bool, soft: Bool) {
            self.mic += Double(mic); self.out += Double(out); blocks += 1
            if clip { clipped += 1 }
            if loud { loudMic += Double(mic); loudOut += Double(out); loudBlocks += 1 }
            if soft { softMic += Double(mic); softOut += Double(out); softBlocks += 1 }
        }

        mutating func add(_ o: Sums) {
            mic += o.mic; out += o.out; blocks += o.blocks; clipped += o.clipped
            loudMic += o.loudMic; loudOut += o.loudOut; loudBlocks += o.loudBlocks
            softMic += o.softMic; softOut += o.softOut; softBlocks += o.softBlocks
        }
    }

    /// - Parameter frameSeconds: one frame's length (0.01 at 240 samples and 24 kHz).
    public init(frameSeconds: Double) {
        blockSeconds = frameSeconds * Double(Self.blockFrames)
        referenceLevels = [Float](repeating: 0, count: Self.rhythmBlocks + Self.rhythmLags)
        outLevels = referenceLevels
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
        let level = Self.decibels(reference, n)
        remember(reference: level, out: Self.decibels(out, n))
        let active = reference / n > Self.activeReference && previousReference / n > Self.activeReference
        guard active, mic > 0 else {
            judgePending()
            quietBlocks += 1
            return quietBlocks >= Self.endBlocks ? finish() : nil
        }
        quietBlocks = 0
        let erle = Self.decibels(mic, max(out, 1e-3))
        let median = medianERLE ?? erle
        let meanLevel = meanReferenceLevel ?? level
        meanReferenceLevel = meanLevel + (level - meanLevel) * 0.02
        let suspect = erle < median - Self.doubleTalkDecibels
        let gain = Self.decibels(mic, reference), typicalGain = medianPathGain ?? gain
        if !suspect {
            judgePending()
            medianERLE = erle > median ? median + Self.medianStepDecibels : median - Self.medianStepDecibels
            medianPathGain = gain > typicalGain ? typicalGain + Self.medianStepDecibels : typicalGain - Self.medianStepDecibels
        }
        if suspect && gain > typicalGain + Self.talkerHeardDecibels { pending.heard += 1 }
        var into = suspect ? pending : sums
        into.add(mic: mic, out: out, clipped: micPeak >= 32000, loud: level > meanLevel + 3, soft: level < meanLevel - 3)
        if suspect { pending = into } else { sums = into }
        if pending.blocks >= Self.rhythmBlocks / 2 { judgePending() }
        return sums.blocks >= Self.fullBlocks ? finish() : nil
    }

    /// Counts the held-back blocks if what the chain left followed the far end's rhythm
    /// (echo it did not take out), and moves the median down by as many steps.
    private mutating func judgePending() {
        guard pending.blocks > 0 else { return }
        let echo = pending.blocks >= Self.rhythmBlocks / 4 ? rhythmCorrelation() >= 0.5 : pending.heard == 0
        if echo {
            sums.add(pending)
            medianERLE = medianERLE.map { $0 - Self.medianStepDecibels * Float(pending.blocks) }
        }
        pending = Sums()
    }

    private mutating func remember(reference: Float, out: Float) {
        referenceLevels[historyEnd] = reference
        outLevels[historyEnd] = out
        historyEnd = (historyEnd + 1) % referenceLevels.count
        historyCount = min(historyCount + 1, referenceLevels.count)
    }

    /// How closely the output's level has followed the reference's over the last
    /// `rhythmBlocks` blocks, at the best lag (Pearson; 1 before there is enough history).
    private func rhythmCorrelation() -> Float {
        let n = Self.rhythmBlocks, size = referenceLevels.count
        guard historyCount == size else { return 1 }
        var best: Float = -1
        for lag in 0..<Self.rhythmLags {
            var sx: Float = 0, sy: Float = 0, sxx: Float = 0, syy: Float = 0, sxy: Float = 0
            for k in 0..<n {
                let outIndex = (historyEnd - 1 - k + 2 * size) % size
                let x = referenceLevels[(outIndex - lag + size) % size], y = outLevels[outIndex]
                sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y
            }
            let count = Float(n)
            let cov = sxy - sx * sy / count, vx = sxx - sx * sx / count, vy = syy - sy * sy / count
            guard vx > 1e-6, vy > 1e-6 else { continue }
            best = max(best, cov / (vx * vy).squareRoot())
        }
        return best
    }

    /// The canceller restarted (the echo moved): what was gathered judged the old path, so
    /// the measure starts over, and so does the typical block ERLE it is judged by.
    public mutating func restart() {
        sums = Sums()
        pending = Sums()
        medianERLE = nil
        quietBlocks = 0
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
        judgePending()
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
