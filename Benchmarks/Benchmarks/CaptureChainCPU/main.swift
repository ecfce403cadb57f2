import BenchSupport
import ParleyAudio
#if canImport(Glibc)
import Glibc
#endif

/// CPU time per second of audio for CaptureProcessor, measured like chain.c:
/// CLOCK_PROCESS_CPUTIME_ID around N seconds of audio after one second of warm-up.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let runs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100 : 100
let input = BenchInput.load()
let output = SampleRing(minimumCapacity: 48000)
let reference = SampleRing(minimumCapacity: 48000)
let processor = CaptureProcessor(rate: 48000, channels: 1, periodFrames: 480, output: output, reference: reference,
                                 dsp: BenchInput.settings())
let sink = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 24000)
input.run(processor, output: output, reference: reference, sink: sink, seconds: 1)
let start = cpuSeconds()
input.run(processor, output: output, reference: reference, sink: sink, seconds: runs)
let cpu = cpuSeconds() - start
print("{\"seconds_of_audio\": \(runs), \"cpu_seconds\": \(cpu), \"cpu_percent_of_core\": \(100 * cpu / Double(runs))}")
