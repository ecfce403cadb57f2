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

    deinit { if let state { speex_resampler_destroy(state) } }

    /// Resamples all of `input`; returns the number of samples written to `output`.
    public func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard let state else {
            let n = min(input.count, output.count)
            if n > 0 { output.baseAddress!.update(from: input.baseAddress!, count: n) }
            return n
        }
        var inLength = UInt32(input.count)
        var outLength = UInt32(output.count)
        speex_resampler_process_int(state, 0, input.baseAddress, &inLength, output.baseAddress, &outLength)
        return Int(outLength)
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
