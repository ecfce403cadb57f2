#if canImport(Glibc)
import Glibc
#endif

/// Finds how far the echo in a microphone recording lags the reference the canceller was
/// given, by cross-correlation: for boards whose converter delays ALSA does not report,
/// where the reference could reach the canceller after the echo (it cannot cancel what
/// it has not seen yet). Control plane only: allocates.
public enum EchoDelayEstimator {
    public struct Estimate: Sendable, Equatable {
        /// Positive: the echo comes after the reference (what the canceller needs).
        public var lagSamples: Int
        /// Correlation peak over the RMS of all lags: how clearly the echo stood out.
        public var clarity: Double
    }

    /// A peak this far above the others is an echo, not chance (white noise gives ~4).
    public static let minimumClarity = 8.0

    /// Searches lags from `-maximumLead` to `maximumLag` samples. Nil when no echo stands
    /// out (speaker muted, volume 0, mic unplugged, silence).
    public static func estimate(mic: [Int16], reference: [Int16], maximumLead: Int, maximumLag: Int) -> Estimate? {
        let count = min(mic.count, reference.count)
        guard count > 4 * (maximumLead + maximumLag) / 3 else { return nil }
        let m = mic.prefix(count).map(Float.init), r = reference.prefix(count).map(Float.init)
        // Coarse pass at a quarter of the rate (box-averaged), then the exact lag nearby.
        let factor = 4
        let mc = decimate(m, by: factor), rc = decimate(r, by: factor)
        let coarse = correlations(mc, rc, lags: (-maximumLead / factor)...(maximumLag / factor))
        let rms = (coarse.reduce(0) { $0 + $1.value * $1.value } / Double(max(1, coarse.count))).squareRoot()
        guard let best = coarse.max(by: { abs($0.value) < abs($1.value) }), rms > 0 else { return nil }
        let clarity = abs(best.value) / rms
        guard clarity >= minimumClarity else { return nil }
        let fine = correlations(m, r, lags: (best.lag * factor - factor)...(best.lag * factor + factor))
        let lag = fine.max { abs($0.value) < abs($1.value) }!.lag
        return Estimate(lagSamples: lag, clarity: clarity)
    }

    /// Σ x[n]·y[n−lag] for each lag (unnormalised: the same energies for every lag).
    static func correlations(_ x: [Float], _ y: [Float], lags: ClosedRange<Int>) -> [(lag: Int, value: Double)] {
        lags.map { lag in
            var sum: Float = 0
            let start = max(0, lag), end = min(x.count, y.count + lag)
            if start < end {
                x.withUnsafeBufferPointer { xs in
                    y.withUnsafeBufferPointer { ys in
                        for n in start..<end { sum += xs[n] * ys[n - lag] }
                    }
                }
            }
            return (lag, Double(sum))
        }
    }

    static func decimate(_ x: [Float], by factor: Int) -> [Float] {
        stride(from: 0, to: x.count - factor + 1, by: factor).map { i in
            var sum: Float = 0
            for k in 0..<factor { sum += x[i + k] }
            return sum / Float(factor)
        }
    }

    /// The probe: a rising sine sweep (300 Hz → 6 kHz, logarithmic) with soft edges — its
    /// correlation has one sharp peak, and it sounds like a short chirp, not a hiss.
    public static func sweep(rate: Int, milliseconds: Int = 300, amplitude: Double = 0.2) -> [Int16] {
        let count = rate * milliseconds / 1000
        let (f0, f1) = (300.0, 6000.0)
        let duration = Double(count) / Double(rate)
        let k = log(f1 / f0)
        let fade = rate * 10 / 1000
        return (0..<count).map { i in
            let t = Double(i) / Double(rate)
            let phase = 2 * Double.pi * f0 * duration / k * (exp(t / duration * k) - 1)
            let edge = min(i, count - 1 - i)
            let envelope = edge >= fade ? 1 : 0.5 - 0.5 * cos(Double.pi * Double(edge) / Double(fade))
            return Int16((amplitude * 32767 * envelope * sin(phase)).rounded())
        }
    }
}
