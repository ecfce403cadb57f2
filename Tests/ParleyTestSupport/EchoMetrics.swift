#if canImport(Glibc)
import Glibc
#endif

/// The echo measures, defined once for the echo tests, the bench and docs/AUDIO.md.
public enum EchoMetrics {
    public static func energy(_ x: [Int16], _ range: Range<Int>) -> Double {
        var sum = 0.0
        for i in range where i < x.count { sum += Double(x[i]) * Double(x[i]) }
        return sum
    }

    public static func rms(_ x: [Int16], _ range: Range<Int>) -> Double { (energy(x, range) / Double(max(1, range.count))).squareRoot() }

    public static func decibels(_ a: Double, _ b: Double) -> Double { 10 * log10(a / max(b, 1e-9)) }

    /// The normalised correlation of the output with the clean near-end speech over `range`,
    /// the output taken `lag` samples later (the chain's delay).
    public static func nearEndCorrelation(out: [Int16], near: [Int16], lag: Int, _ range: Range<Int>) -> Double {
        var dot = 0.0, nn = 0.0, oo = 0.0
        for i in range {
            let o = Double(out[i + lag]), n = Double(near[i])
            dot += o * n
            nn += n * n
            oo += o * o
        }
        return dot / max((nn * oo).squareRoot(), 1)
    }

    /// ERLE: mic energy over output energy, in dB, over far-end-only stretches.
    public static func erle(mic: [Int16], out: [Int16], _ ranges: [Range<Int>]) -> Double {
        decibels(ranges.reduce(0) { $0 + energy(mic, $1) }, ranges.reduce(0) { $0 + energy(out, $1) })
    }

    /// Seconds from the start of `range` to the start of the first 1 s window after which
    /// every window with far-end speech in it (mic above -50 dBFS) reaches `decibels` ERLE.
    public static func convergence(mic: [Int16], out: [Int16], _ range: Range<Int>, rate: Int, decibels target: Double) -> Double {
        let window = rate
        let starts = Array(stride(from: range.lowerBound, to: range.upperBound - window + 1, by: window))
        var firstGood: Int?
        for start in starts {
            let w = start..<(start + window)
            guard rms(mic, w) > 100 else { continue }  // a pause in the far end's speech
            if decibels(energy(mic, w), energy(out, w)) >= target {
                if firstGood == nil { firstGood = start }
            } else {
                firstGood = nil
            }
        }
        return Double((firstGood ?? range.upperBound) - range.lowerBound) / Double(rate)
    }

    /// Near-end SDR in double talk: how much of the output is the talker, in dB. The clean
    /// near-end speech may reach the output through a short linear filter (the canceller's
    /// DC notch, the suppressor's smoothing): the output is projected onto the talker's
    /// speech delayed by the best lag (0–30 ms) and filtered by up to 128 taps (least
    /// squares, as BSS-Eval's SDR); SDR = projection energy / remainder energy.
    public static func nearEndSDR(out: [Int16], near: [Int16], _ range: Range<Int>, taps: Int = 128) -> Double {
        let o = range.map { Double(out[$0]) }
        let whole = near.map(Double.init)
        let probe = min(o.count, 48000)
        let lagged = { (lag: Int) -> Double in
            whole.withUnsafeBufferPointer { nb in o.withUnsafeBufferPointer { ob in
                var sum = 0.0
                for t in 0..<probe where range.lowerBound + t - lag >= 0 { sum += ob[t] * nb[range.lowerBound + t - lag] }
                return sum
            } }
        }
        let bestLag = (0...720).max { lagged($0) < lagged($1) }!
        let lag0 = max(0, bestLag - taps / 4)  // let the filter reach a little before the peak
        // Normal equations R a = p: R Toeplitz from the talker's autocorrelation,
        // p[k] = Σ o(t)·n(t − lag0 − k).
        let n = (range.lowerBound - lag0 - taps..<range.upperBound).map { $0 >= 0 ? Double(near[$0]) : 0 }
        let base = taps  // index in n of range.lowerBound − lag0
        let count = o.count
        var autocorrelation = [Double](repeating: 0, count: taps)
        var p = [Double](repeating: 0, count: taps)
        n.withUnsafeBufferPointer { nb in
            o.withUnsafeBufferPointer { ob in
                for k in 0..<taps {
                    var c = 0.0, q = 0.0
                    for t in 0..<count {
                        c += nb[base + t] * nb[base + t - k]
                        q += ob[t] * nb[base + t - k]
                    }
                    autocorrelation[k] = c
                    p[k] = q
                }
            }
        }
        let r = (0..<taps).map { i in (0..<taps).map { j in autocorrelation[abs(i - j)] } }
        let a = solve(r, p)
        var signal = 0.0, error = 0.0
        n.withUnsafeBufferPointer { nb in
            for t in 0..<count {
                var y = 0.0
                for k in 0..<taps { y += a[k] * nb[base + t - k] }
                signal += y * y
                error += (o[t] - y) * (o[t] - y)
            }
        }
        return decibels(signal, error)
    }

    /// Cholesky solve of a symmetric positive definite system (ridge-regularised).
    private static func solve(_ m: [[Double]], _ b: [Double]) -> [Double] {
        let n = b.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        let ridge = 1e-9 * (0..<n).reduce(0.0) { $0 + m[$1][$1] } / Double(n)
        for i in 0..<n {
            for j in 0...i {
                var sum = m[i][j] + (i == j ? ridge : 0)
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                l[i][j] = i == j ? max(sum, 1e-12).squareRoot() : sum / l[j][j]
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i][k] * y[k] }
            y[i] = sum / l[i][i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k][i] * x[k] }
            x[i] = sum / l[i][i]
        }
        return x
    }
}
