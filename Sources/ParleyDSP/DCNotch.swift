/// A DC notch: a double zero at DC and a pole pair just inside it, scaled by the pole
/// radius — the same response speexdsp's canceller applies to the mic before it cancels
/// (radius 0.9 below 12 kHz, 0.982 below 24 kHz, else 0.992). `CaptureChain` runs it while
/// the canceller is skipped, so its output keeps the level and DC the canceller's had.
/// Pure arithmetic, no allocation.
struct DCNotch {
    private let radius: Float
    private let feedback2: Float
    // Transposed direct form II state.
    private var s1: Float = 0
    private var s2: Float = 0

    init(rate: Int) {
        radius = rate < 12000 ? 0.9 : rate < 24000 ? 0.982 : 0.992
        feedback2 = radius * radius + 0.7 * (1 - radius) * (1 - radius)
    }

    /// Filters `count` samples of `input` into `output` (which may be `input`).
    mutating func run(_ input: UnsafePointer<Int16>, into output: UnsafeMutablePointer<Int16>, count: Int) {
        for i in 0..<count {
            let x = Float(input[i])
            // H(z) = r (1 - 2z⁻¹ + z⁻²) / (1 - 2r z⁻¹ + f2 z⁻²)
            let y = x + s1
            s1 = s2 - 2 * x + 2 * radius * y
            s2 = x - feedback2 * y
            output[i] = Int16(clamping: Int((radius * y).rounded()))
        }
    }
}
