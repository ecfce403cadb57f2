#if canImport(Glibc)
import Glibc
#endif

/// What any noise suppressor of the chain's kind could reach at best: one real gain per
/// frequency bin and frame, as speexdsp's (and RNNoise's, per band) are. The bound is the
/// oracle that knows the talker: in each bin it applies the gain that brings the mic closest
/// to the clean speech (the phase-sensitive mask, Re(S·M*)/|M|², kept within 0…1), on the
/// chain's scale of analysis (512-sample frames, half overlapped, √Hann windows), and the
/// result is scored with `EchoMetrics.nearEndSDR` like the chain's output. No estimate from
/// the mic alone does better, so a goal above it asks for another kind of suppressor
/// (complex filters across bins and frames, or a second microphone).
public enum MaskBound {
    public static let frame = 512

    /// The near-end SDR over `range` of the mic cleaned by the oracle gain.
    public static func nearEndSDR(mic: [Int16], near: [Int16], _ range: Range<Int>) -> Double {
        EchoMetrics.nearEndSDR(out: cleaned(mic: mic, near: near, around: range), near: near, range)
    }

    /// The mic with the oracle gain applied in the frames that reach `range` (silence elsewhere).
    public static func cleaned(mic: [Int16], near: [Int16], around range: Range<Int>) -> [Int16] {
        let n = frame, hop = frame / 2
        let window = (0..<n).map { sin(Double.pi * Double($0) / Double(n)) }  // √Hann: analysis × synthesis sums to 1
        var out = [Double](repeating: 0, count: mic.count)
        var start = max(0, (range.lowerBound - n) / hop * hop)
        while start + n <= min(mic.count, near.count) && start < range.upperBound + n {
            var m = FFT.Bins(count: n), s = FFT.Bins(count: n)
            for i in 0..<n {
                m.re[i] = Double(mic[start + i]) * window[i]
                s.re[i] = Double(near[start + i]) * window[i]
            }
            FFT.transform(&m)
            FFT.transform(&s)
            for k in 0..<n {
                let power = m.re[k] * m.re[k] + m.im[k] * m.im[k]
                let gain = power > 0 ? min(1, max(0, (s.re[k] * m.re[k] + s.im[k] * m.im[k]) / power)) : 0
                m.re[k] *= gain
                m.im[k] *= gain
            }
            FFT.transform(&m, inverse: true)
            for i in 0..<n { out[start + i] += m.re[i] * window[i] }
            start += hop
        }
        return EchoFixture.pcm(out.map(Float.init))
    }
}

/// An iterative radix-2 FFT, enough for the bound (a power-of-two length).
enum FFT {
    struct Bins {
        var re: [Double], im: [Double]
        init(count: Int) { re = .init(repeating: 0, count: count); im = .init(repeating: 0, count: count) }
    }

    static func transform(_ x: inout Bins, inverse: Bool = false) {
        let n = x.re.count
        precondition(n & (n - 1) == 0, "a power of two")
        var j = 0
        for i in 1..<n {  // bit-reversed order
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { x.re.swapAt(i, j); x.im.swapAt(i, j) }
        }
        var size = 2
        while size <= n {
            let angle = (inverse ? 2 : -2) * Double.pi / Double(size)
            for base in stride(from: 0, to: n, by: size) {
                for k in 0..<(size / 2) {
                    let wr = cos(angle * Double(k)), wi = sin(angle * Double(k))
                    let a = base + k, b = a + size / 2
                    let tr = x.re[b] * wr - x.im[b] * wi, ti = x.re[b] * wi + x.im[b] * wr
                    x.re[b] = x.re[a] - tr; x.im[b] = x.im[a] - ti
                    x.re[a] += tr; x.im[a] += ti
                }
            }
            size *= 2
        }
        if inverse { for i in 0..<n { x.re[i] /= Double(n); x.im[i] /= Double(n) } }
    }
}
