import ParleyConfig
import ParleyDSP
import Synchronization

/// The capture thread's work: read a period, pick or mix the mic channel, apply gain,
/// resample to 24 kHz, then per 10 ms frame cancel the echo against the aligned speaker
/// reference, suppress noise, and push into the ring. Everything here is owned by the
/// capture thread; buffers are allocated in `init`, never in `run`.
final class CaptureLoop: @unchecked Sendable {
    private let pcm: ALSAPCM
    private let ring: SampleRing
    private let reference: SampleRing
    private let counters: AudioCounters
    private let controls: AudioControls
    private let resampler: Resampler
    private let chain: CaptureChain
    private let micChannel: Int
    private let micMix: Bool
    private let paced: Bool
    /// Extra reference lead from config (dsp.aec_extra_delay_ms), in 24 kHz samples.
    private let extraLead: Int
    private let interleaved: UnsafeMutableBufferPointer<Int16>
    private let mono: UnsafeMutableBufferPointer<Int16>
    /// Resampled audio waiting to fill a whole DSP frame.
    private let staging: UnsafeMutableBufferPointer<Int16>
    private var staged = 0
    private let referenceFrame: UnsafeMutableBufferPointer<Int16>
    private let finished = Atomic<Bool>(false)
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    init(pcm: ALSAPCM, ring: SampleRing, reference: SampleRing, counters: AudioCounters, controls: AudioControls,
         micChannel: Int, micMix: Bool, paced: Bool, dsp: DSPSettings) {
        self.pcm = pcm
        self.ring = ring
        self.reference = reference
        self.counters = counters
        self.controls = controls
        self.micChannel = min(micChannel, pcm.channels - 1)
        self.micMix = micMix
        self.paced = paced
        extraLead = dsp.echoExtraDelayMilliseconds * AudioFormat.wireRate / 1000
        resampler = Resampler(from: pcm.rate, to: AudioFormat.wireRate, quality: dsp.resamplerQuality)
        chain = CaptureChain(frameSize: AudioFormat.frameSamples, rate: AudioFormat.wireRate, settings: dsp)
        interleaved = .allocate(capacity: pcm.periodFrames * pcm.channels)
        interleaved.initialize(repeating: 0)
        mono = .allocate(capacity: pcm.periodFrames)
        mono.initialize(repeating: 0)
        staging = .allocate(capacity: resampler.outputCount(forInput: pcm.periodFrames) + 2 * AudioFormat.frameSamples)
        staging.initialize(repeating: 0)
        referenceFrame = .allocate(capacity: AudioFormat.frameSamples)
        referenceFrame.initialize(repeating: 0)
    }

    deinit {
        interleaved.deallocate()
        mono.deallocate()
        staging.deallocate()
        referenceFrame.deallocate()
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
            let captureDelay = (pcm.delay() + n) * AudioFormat.wireRate / pcm.rate
            downmix(frames: n)
            let free = UnsafeMutableBufferPointer(rebasing: staging[staged...])
            staged += resampler.process(UnsafeBufferPointer(rebasing: mono[0..<n]), into: free)
            processStagedFrames(captureDelay: captureDelay)
            counters.frames.add(UInt64(n), ordering: .relaxed)
        }
        finished.store(true, ordering: .releasing)
    }

    private func processStagedFrames(captureDelay: Int) {
        let frame = AudioFormat.frameSamples
        var offset = 0
        while staged - offset >= frame {
            takeReferenceFrame(captureDelay: captureDelay)
            let samples = staging.baseAddress! + offset
            _ = chain.process(samples, reference: UnsafePointer(referenceFrame.baseAddress!))
            let pushed = ring.push(UnsafeBufferPointer(start: samples, count: frame))
            if pushed < frame { counters.ringMisses.add(UInt64(frame - pushed), ordering: .relaxed) }
            offset += frame
        }
        staged -= offset
        if staged > 0 && offset > 0 { staging.baseAddress!.update(from: staging.baseAddress! + offset, count: staged) }
    }

    /// The reference frame that played when this mic frame was captured. The reference
    /// ring holds what playback wrote and not yet heard-and-captured; its fill should equal
    /// playback delay + capture delay (+ the configured extra lead). When it is off by more
    /// than a frame (start, xruns), drop reference or hold it back with silence.
    @inline(__always) private func takeReferenceFrame(captureDelay: Int) {
        let frame = AudioFormat.frameSamples
        let target = controls.playbackDelay.load(ordering: .relaxed) + captureDelay + extraLead
        let lead = reference.availableToRead
        controls.referenceLead.store(lead, ordering: .relaxed)
        if lead > target + frame {
            reference.discard(lead - target)
            controls.referenceRealignments.add(1, ordering: .relaxed)
        } else if lead + frame < target {
            // Hold the reference back: this frame is compared with silence.
            for i in 0..<frame { referenceFrame[i] = 0 }
            controls.referenceRealignments.add(1, ordering: .relaxed)
            return
        }
        let got = reference.pop(into: referenceFrame)
        if got < frame { for i in got..<frame { referenceFrame[i] = 0 } }
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
    /// One DSP frame: 10 ms at 24 kHz.
    public static let frameSamples = 240
}
