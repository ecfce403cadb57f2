import Benchmark
import BenchSupport
import ParleyAudio
import ParleyConfig

/// The capture thread's per-period work (CaptureProcessor: downmix, gain, resample
/// 48→24 kHz, echo canceller with a 200 ms tail, noise suppression + AGC + residual echo
/// suppression, VAD, ring push), one second of audio per iteration, on the same input
/// as Benchmarks/c/chain.c. Reports heap allocations and CPU time.
let benchmarks: @Sendable () -> Void = {
    let input = BenchInput.load()
    let dsp = BenchInput.settings()

    // Two lengths: the measurement adds a fixed number of allocations per iteration, so
    // allocations per frame = (3 s − 1 s) / 200 frames (scripts/bench.sh).
    for seconds in [1, 3] {
        Benchmark("capture chain: \(seconds) s of 48 kHz audio",
                  configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(10),
                                       maxIterations: 100)) { benchmark in
            let output = SampleRing(minimumCapacity: 48000)
            let reference = SampleRing(minimumCapacity: 48000)
            let processor = CaptureProcessor(rate: 48000, channels: 1, periodFrames: 480, output: output,
                                             reference: reference, dsp: dsp)
            let sink = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 24000)
            defer { sink.deallocate() }
            // Warm up (the canceller's first frames) outside the measurement.
            input.run(processor, output: output, reference: reference, sink: sink, seconds: 1)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                input.run(processor, output: output, reference: reference, sink: sink, seconds: seconds)
            }
            benchmark.stopMeasurement()
        }
    }

    // The harness's own allocations per iteration: subtracted from the figure above.
    Benchmark("baseline: empty iteration",
              configuration: .init(metrics: [.mallocCountTotal], maxDuration: .seconds(2), maxIterations: 200)) { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(0) }
        benchmark.stopMeasurement()
    }
}
