import Glibc
import ParleyTestSupport
import Testing
@testable import ParleyDSP

@Suite struct DriftResamplerTests {
    /// Runs `blocks` of 10 ms input through, `ppm(block)` set before each; returns what
    /// was consumed and produced, feeding input only as the resampler takes it.
    func run(blocks: Int, input: [Int16]? = nil, ppm: (Int) -> Double) -> (consumed: Int, output: [Int16]) {
        let resampler = DriftResampler()
        var generator = SplitMix(seed: 3)
        let source = input ?? (0..<(blocks * 240 + 1000)).map { _ in Int16.random(in: -8000...8000, using: &generator) }
        var output = [Int16](repeating: 0, count: 240)
        var consumed = 0
        var all: [Int16] = []
        for block in 0..<blocks {
            resampler.setDrift(partsPerMillion: ppm(block))
            let (used, made) = source.withUnsafeBufferPointer { i in
                output.withUnsafeMutableBufferPointer {
                    resampler.process(from: UnsafeBufferPointer(rebasing: i[consumed..<min(i.count, consumed + 480)]), into: $0)
                }
            }
            consumed += used
            all += output[0..<made]
        }
        return (consumed, all)
    }

    @Test func atOneToOneItCopies() {
        var generator = SplitMix(seed: 9)
        let input = (0..<24000).map { _ in Int16.random(in: -8000...8000, using: &generator) }
        let (_, output) = run(blocks: 90, input: input) { _ in 0 }
        let mismatch = zip(output, input).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(output.count == 90 * 240)
        #expect(mismatch == nil, "first difference at \(mismatch?.offset ?? -1): \(String(describing: mismatch?.element))")
    }

    @Test(arguments: [100.0, -100.0, 1000.0, -37.5])
    func itTakesOneOverOnePlusPPMInputPerOutput(ppm: Double) {
        let (consumed, output) = run(blocks: 10_000) { _ in ppm }  // 100 s
        let expected = Double(output.count) / (1 + ppm / 1e6)
        #expect(abs(Double(consumed) - expected) < 12)  // the filter's look-ahead
    }

    @Test func changingTheRatioMidStreamKeepsCount() {
        let ratios = [8.37, 16.72, 0, -48.2, -100, 100]
        let (consumed, output) = run(blocks: 6000) { ratios[($0 / 50) % 6] }
        var expected = 0.0
        for block in 0..<6000 {
            let ppm: Double = ratios[(block / 50) % 6]
            expected += 240.0 / (1.0 + ppm / 1e6)
        }
        #expect(output.count == 6000 * 240)
        #expect(abs(Double(consumed) - expected) < 12)
    }

    @Test func aToneComesThroughCleanly() {
        // 1 kHz at 100 ppm: the output is the same tone, with interpolation error < -60 dB.
        let input: [Int16] = (0..<48000).map { n in
            let x: Double = 8000 * sin(2 * Double.pi * 1000 * Double(n) / 24000)
            return Int16(x.rounded())
        }
        let (_, output) = run(blocks: 150, input: input) { _ in 100 }
        var error = 0.0, signal = 0.0
        for n in 1000..<output.count {
            let t = Double(n) / (1 + 100 / 1e6)  // output n sits at input time t
            let ideal = 8000 * sin(2 * Double.pi * 1000 * t / 24000)
            error += (Double(output[n]) - ideal) * (Double(output[n]) - ideal)
            signal += ideal * ideal
        }
        #expect(10 * log10(signal / error) > 60)
    }
}
