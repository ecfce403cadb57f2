#if canImport(Glibc)
import Glibc
#endif

/// Resamples one stream by a ratio a few hundred ppm from 1 that may change at any moment:
/// the echo reference following the microphone's clock. A 16-tap Kaiser-windowed sinc
/// (full band: at ratios this close to 1 nothing aliases) read from a 256-phase table,
/// interpolated between phases. At a ratio of exactly 1 it copies. Takes input only as far as the
/// output needs it, so the caller's queue keeps what is not yet due. Tables and history
/// are allocated in `init`; `process` and `setDrift` do not allocate, lock or log.
public final class DriftResampler: @unchecked Sendable {
    public static let taps = 16
    static let phases = 256
    private let table: UnsafeMutableBufferPointer<Float>  // (phases + 1) × taps
    private let history: UnsafeMutableBufferPointer<Float>
    private var filled: Int
    /// Where the next output sample sits in `history` (integer part: the sample at the
    /// filter's centre-left tap).
    private var position: Double
    /// Input samples per output sample.
    private var step = 1.0

    public init() {
        let taps = Self.taps, phases = Self.phases
        table = .allocate(capacity: (phases + 1) * taps)
        for p in 0...phases {
            let frac = Double(p) / Double(phases)
            var sum = 0.0
            for k in 0..<taps {
                let t = Double(k - (taps / 2 - 1)) - frac
                let sinc = t == 0 ? 1 : sin(Double.pi * t) / (Double.pi * t)
                let h = sinc * Self.kaiser(t / Double(taps / 2), beta: 8)
                table[p * taps + k] = Float(h)
                sum += h
            }
            for k in 0..<taps { table[p * taps + k] /= Float(sum) }  // unity gain at DC
        }
        history = .allocate(capacity: 512)
        history.initialize(repeating: 0)
        filled = taps / 2 - 1  // zeros before the first input sample
        position = Double(filled)
    }

    deinit {
        table.deallocate()
        history.deallocate()
    }

    /// Makes `1 + ppm/1e6` output samples per input sample (positive: the consumer's clock
    /// runs fast). Bounded to ±`maximumPPM`.
    public func setDrift(partsPerMillion ppm: Double) {
        step = 1 / (1 + max(-Self.maximumPPM, min(Self.maximumPPM, ppm)) / 1e6)
    }

    /// The most drift followed: beyond any crystal's tolerance (±100 ppm for cheap ones).
    public static let maximumPPM = 2000.0

    /// Input taken but not yet at the filter's centre: the resampler's share of a queue.
    public var bufferedInput: Int { max(0, filled - Int(position)) }

    /// Produces until `output` is full or `input` runs out; returns how much of each.
    public func process(from input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>)
        -> (consumed: Int, produced: Int)
    {
        let taps = Self.taps, half = taps / 2
        var used = 0, made = 0
        while made < output.count {
            var i = Int(position)
            if filled + 1 >= history.count { compact(); i = Int(position) }
            while filled < i + half + 1 && used < input.count {
                history[filled] = Float(input[used])
                filled += 1
                used += 1
            }
            if filled < i + half + 1 { break }  // needs more input
            let phase = (position - Double(i)) * Double(Self.phases)
            let p0 = min(Int(phase), Self.phases - 1)
            let w = Float(phase - Double(p0))
            let a = table.baseAddress! + p0 * taps, b = a + taps
            let x = history.baseAddress! + (i - half + 1)
            var y: Float = 0
            for k in 0..<taps { y += x[k] * (a[k] + (b[k] - a[k]) * w) }
            output[made] = Int16(clamping: Int(y.rounded()))
            made += 1
            position += step
        }
        return (used, made)
    }

    /// Moves the samples the filter still needs to the front of the history.
    private func compact() {
        let drop = Int(position) - (Self.taps / 2 - 1)
        guard drop > 0 else { return }
        history.baseAddress!.update(from: history.baseAddress! + drop, count: filled - drop)
        filled -= drop
        position -= Double(drop)
    }

    /// Zeroth-order modified Bessel function, for the Kaiser window.
    static func kaiser(_ x: Double, beta: Double) -> Double {
        guard abs(x) <= 1 else { return 0 }
        func i0(_ z: Double) -> Double {
            var sum = 1.0, term = 1.0
            for k in 1..<30 {
                term *= (z / 2) / Double(k)
                sum += term * term
            }
            return sum
        }
        return i0(beta * (1 - x * x).squareRoot()) / i0(beta)
    }
}
