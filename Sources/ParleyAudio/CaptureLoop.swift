import ParleyDSP
import Synchronization

/// The capture thread's work: read a period, pick or mix the mic channel, apply gain,
/// resample to 24 kHz, push into the ring. Everything here is owned by the capture
/// thread; buffers are allocated in `init`, never in `run`.
final class CaptureLoop: @unchecked Sendable {
    private let pcm: ALSAPCM
    private let ring: SampleRing
    private let counters: AudioCounters
    private let controls: AudioControls
    private let resampler: Resampler
    private let micChannel: Int
    private let micMix: Bool
    private let paced: Bool
    private let interleaved: UnsafeMutableBufferPointer<Int16>
    private let mono: UnsafeMutableBufferPointer<Int16>
    private let output: UnsafeMutableBufferPointer<Int16>
    private let finished = Atomic<Bool>(false)
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    init(pcm: ALSAPCM, ring: SampleRing, counters: AudioCounters, controls: AudioControls,
         micChannel: Int, micMix: Bool, paced: Bool, resamplerQuality: Int) {
        self.pcm = pcm
        self.ring = ring
        self.counters = counters
        self.controls = controls
        self.micChannel = min(micChannel, pcm.channels - 1)
        self.micMix = micMix
        self.paced = paced
        resampler = Resampler(from: pcm.rate, to: AudioFormat.wireRate, quality: resamplerQuality)
        interleaved = .allocate(capacity: pcm.periodFrames * pcm.channels)
        interleaved.initialize(repeating: 0)
        mono = .allocate(capacity: pcm.periodFrames)
        mono.initialize(repeating: 0)
        output = .allocate(capacity: resampler.outputCount(forInput: pcm.periodFrames) + 16)
        output.initialize(repeating: 0)
    }

    deinit {
        interleaved.deallocate()
        mono.deallocate()
        output.deallocate()
    }

    func run() {
        var pacer = Pacer(periodNanoseconds: pcm.periodFrames * 1_000_000_000 / pcm.rate)
        let frames = pcm.periodFrames
        while controls.running.load(ordering: .relaxed) {
            counters.beat()
            if paced { pacer.wait() }
            let n = pcm.read(interleaved.baseAddress!, frames: frames)
            if n < 0 {
                handleError(n)
                continue
            }
            guard n > 0 else { continue }
            downmix(frames: n)
            let produced = resampler.process(UnsafeBufferPointer(rebasing: mono[0..<n]), into: output)
            let pushed = ring.push(UnsafeBufferPointer(rebasing: output[0..<produced]))
            if pushed < produced { counters.ringMisses.add(UInt64(produced - pushed), ordering: .relaxed) }
            counters.frames.add(UInt64(n), ordering: .relaxed)
        }
        finished.store(true, ordering: .releasing)
    }

    @inline(__always) private func downmix(frames n: Int) {
        let channels = pcm.channels
        let gain = Int(controls.micGainQ12.load(ordering: .relaxed))
        for i in 0..<n {
            var sample: Int
            if micMix && channels > 1 {
                var sum = 0
                for c in 0..<channels { sum += Int(interleaved[i * channels + c]) }
                sample = sum / channels
            } else {
                sample = Int(interleaved[i * channels + micChannel])
            }
            sample = (sample * gain) >> 12
            mono[i] = Int16(clamping: sample)
        }
    }

    private func handleError(_ err: Int) {
        counters.lastError.store(Int32(err), ordering: .relaxed)
        if pcm.recover(err) == 0 {
            counters.xruns.add(1, ordering: .relaxed)
        } else {
            counters.errors.add(1, ordering: .relaxed)
            // Not recoverable here (device gone): do not spin; the control plane sees the
            // error counter and lastError.
            sleepNanoseconds(pcm.periodFrames * 1_000_000_000 / pcm.rate)
        }
    }
}

/// The format on the control-plane side of the rings, and on the wire.
public enum AudioFormat {
    /// PCM16 mono at 24 kHz: what OpenAI Realtime and the PCM relays take.
    public static let wireRate = 24000
}
