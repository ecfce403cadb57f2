import CSpeexDSP

/// speexdsp resampler for one mono stream. Created at configure time; `process` does
/// not allocate, so it may run on an audio thread.
public final class Resampler: @unchecked Sendable {
    public let inputRate: Int
    public let outputRate: Int
    private let state: OpaquePointer?  // nil when the rates are equal: a straight copy

    public init(from inputRate: Int, to outputRate: Int, quality: Int) {
        self.inputRate = inputRate
        self.outputRate = outputRate
        if inputRate == outputRate {
            state = nil
        } else {
            var err: Int32 = 0
            state = speex_resampler_init(1, UInt32(inputRate), UInt32(outputRate), Int32(quality), &err)
            precondition(state != nil && err == 0, "speex_resampler_init(\(inputRate)→\(outputRate)) failed: \(err)")
            speex_resampler_skip_zeros(state)
        }
    }

    /// A resampler from `rate` to `rate·(1 + ppm/1e6)`, fixed at creation (test fixtures:
    /// a clock running fast or slow). Not for a ratio that changes while it runs: measured
    /// here, speexdsp 1.2.1 miscounts its input when a fine fractional ratio (denominators
    /// around 10⁶) is changed mid-stream — `DriftResampler` does that job.
    public init(rate: Int, partsPerMillion ppm: Double, quality: Int) {
        inputRate = rate
        outputRate = rate
        let scale: UInt32 = 1_000_000
        var err: Int32 = 0
        state = speex_resampler_init_frac(1, scale, UInt32((Double(scale) * (1 + ppm / 1e6)).rounded()),
                                          UInt32(rate), UInt32(rate), Int32(quality), &err)
        precondition(state != nil && err == 0, "speex_resampler_init_frac(\(rate), \(ppm) ppm) failed: \(err)")
        speex_resampler_skip_zeros(state)
    }

    deinit { if let state { speex_resampler_destroy(state) } }

    /// Resamples all of `input`; returns the number of samples written to `output`.
    public func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        process(from: input, into: output).produced
    }

    /// Resamples until `input` is used up or `output` is full: how much of each.
    public func process(from input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>)
        -> (consumed: Int, produced: Int)
    {
        guard let state else {
            let n = min(input.count, output.count)
            if n > 0 { output.baseAddress!.update(from: input.baseAddress!, count: n) }
            return (n, n)
        }
        var inLength = UInt32(input.count)
        var outLength = UInt32(output.count)
        speex_resampler_process_int(state, 0, input.baseAddress, &inLength, output.baseAddress, &outLength)
        return (Int(inLength), Int(outLength))
    }

    /// Samples of output for `frames` of input, rounded up.
    public func outputCount(forInput frames: Int) -> Int {
        (frames * outputRate + inputRate - 1) / inputRate
    }

    /// A whole clip at another rate (cue files, synthesized speech). Allocates: not for audio threads.
    public static func convert(_ samples: [Int16], from inputRate: Int, to outputRate: Int, quality: Int = 5) -> [Int16] {
        guard inputRate != outputRate, !samples.isEmpty else { return samples }
        let resampler = Resampler(from: inputRate, to: outputRate, quality: quality)
        var output = [Int16](repeating: 0, count: resampler.outputCount(forInput: samples.count) + 64)
        let written = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { resampler.process(input, into: $0) }
        }
        return Array(output.prefix(written))
    }
}
