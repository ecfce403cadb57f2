import ParleyConfig
import ParleyDSP
import Synchronization

/// Everything the capture thread does to a period after reading it: pick or mix the mic
/// channel, apply gain, resample to 24 kHz, then per 10 ms frame cancel the echo against
/// the aligned speaker reference (bent by the speaker's curve, when it has one), suppress noise, detect voice, push into the ring.
/// Separate from the ALSA read so benchmarks and tests drive the exact hot path.
/// Owned by one thread; buffers are allocated in `init`, never in `process`.
public final class CaptureProcessor: @unchecked Sendable {
    private let ring: SampleRing
    private let reference: SampleRing
    private let counters: AudioCounters
    private let controls: AudioControls
    private let resampler: Resampler
    private let chain: CaptureChain
    private let channels: Int
    private let micChannel: Int
    private let micMix: Bool
    private let aligner: ReferenceAligner
    private let mono: UnsafeMutableBufferPointer<Int16>
    /// Resampled audio waiting to fill a whole DSP frame.
    private let staging: UnsafeMutableBufferPointer<Int16>
    private var staged = 0
    /// The first output has been padded to whole frames (see `process`).
    private var framesAligned = false
    private let referenceFrame: UnsafeMutableBufferPointer<Int16>

    init(rate: Int, channels: Int, periodFrames: Int, ring: SampleRing, reference: SampleRing,
         counters: AudioCounters, controls: AudioControls, micChannel: Int, micMix: Bool, dsp: DSPSettings) {
        self.ring = ring
        self.reference = reference
        self.counters = counters
        self.controls = controls
        self.channels = channels
        self.micChannel = min(micChannel, channels - 1)
        self.micMix = micMix
        aligner = ReferenceAligner(reference: reference, controls: controls,
                                   extraLeadMilliseconds: dsp.echoExtraDelayMilliseconds)
        resampler = Resampler(from: rate, to: AudioFormat.wireRate, quality: dsp.resamplerQuality)
        chain = CaptureChain(frameSize: AudioFormat.frameSamples, rate: AudioFormat.wireRate, settings: dsp)
        mono = .allocate(capacity: periodFrames)
        mono.initialize(repeating: 0)
        staging = .allocate(capacity: resampler.outputCount(forInput: periodFrames) + 2 * AudioFormat.frameSamples)
        staging.initialize(repeating: 0)
        referenceFrame = .allocate(capacity: AudioFormat.frameSamples)
        referenceFrame.initialize(repeating: 0)
    }

    /// A processor outside the engine, for benchmarks: its output and reference rings.
    public convenience init(rate: Int, channels: Int, periodFrames: Int, output: SampleRing, reference: SampleRing,
                            dsp: DSPSettings) {
        self.init(rate: rate, channels: channels, periodFrames: periodFrames, ring: output, reference: reference,
                  counters: AudioCounters(), controls: AudioControls(), micChannel: 0, micMix: false, dsp: dsp)
    }

    /// The live echo measure being gathered (the echo rig reads it at the end of a run).
    var currentEchoMeasure: EchoHealthMeter.Measure? { chain.currentEchoMeasure }

    deinit {
        mono.deallocate()
        staging.deallocate()
        referenceFrame.deallocate()
    }

    /// One period as read from ALSA (interleaved, device rate). `captureDelay` is how long
    /// ago its first frame was captured, in 24 kHz samples; `now` is when it was read
    /// (monotonic nanoseconds).
    public func process(_ interleaved: UnsafePointer<Int16>, frames n: Int, captureDelay: Int, now: Int) {
        downmix(interleaved, frames: n)
        // Staged samples from the last period are older than this period's first.
        var oldestAge = captureDelay + staged
        let free = UnsafeMutableBufferPointer(rebasing: staging[staged...])
        staged += resampler.process(UnsafeBufferPointer(rebasing: mono[0..<n]), into: free)
        if !framesAligned && staged > 0 {
            // The resampler's first output is short by its filter delay. Padding it once to a
            // whole frame with older silence lets each later period complete its frame at once
            // (a remainder carried from period to period would hold every sample back ~8 ms).
            framesAligned = true
            let pad = (AudioFormat.frameSamples - staged % AudioFormat.frameSamples) % AudioFormat.frameSamples
            if pad > 0 {
                (staging.baseAddress! + pad).update(from: staging.baseAddress!, count: staged)
                staging.baseAddress!.update(repeating: 0, count: pad)
                staged += pad
                oldestAge += pad
            }
        }
        processStagedFrames(oldestAge: oldestAge, now: now)
    }

    private func processStagedFrames(oldestAge: Int, now: Int) {
        let frame = AudioFormat.frameSamples
        var offset = 0
        while staged - offset >= frame {
            if aligner.take(into: referenceFrame, captureDelay: oldestAge - offset, now: now) { chain.restartCanceller() }
            let samples = staging.baseAddress! + offset
            controls.echoRecorder.record(mic: samples, reference: referenceFrame.baseAddress!, count: frame)
            controls.curveRecorder.record(mic: samples, reference: referenceFrame.baseAddress!, count: frame)
            let limit = controls.speakerLimit.load(ordering: .relaxed)
            if limit > 0 { SpeakerCurve.bend(referenceFrame.baseAddress!, count: frame, limit: Float(limit)) }
            let voiced = chain.process(samples, reference: UnsafePointer(referenceFrame.baseAddress!))
            if let measure = chain.takeEndedEchoMeasure() { controls.echoMeasures.publish(measure) }
            counters.voiceActive.store(voiced, ordering: .relaxed)
            if voiced { counters.voiceFrames.add(1, ordering: .relaxed) }
            let pushed = ring.push(UnsafeBufferPointer(start: samples, count: frame))
            if pushed < frame { counters.ringMisses.add(UInt64(frame - pushed), ordering: .relaxed) }
            offset += frame
        }
        staged -= offset
        if staged > 0 && offset > 0 { staging.baseAddress!.update(from: staging.baseAddress! + offset, count: staged) }
    }

    @inline(__always) private func downmix(_ interleaved: UnsafePointer<Int16>, frames n: Int) {
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
}
