import ParleyDSP
import Synchronization

/// Hands the echo canceller, for each 10 ms mic frame, the speaker samples that were
/// playing when that frame was captured — on the capture clock.
///
/// The reference ring holds what playback wrote and the capture side has not consumed.
/// Its fill ("lead") should equal the playback delay + the frame's capture delay + the
/// margin (`dsp.aec_extra_delay_ms`) + the probe's correction. Two clocks keep it there:
/// - drift: a USB mic and a separate DAC run at slightly different rates, so the reference
///   goes through a fractional resampler (`DriftResampler`) set to the measured clock
///   ratio (fed forward from `ClockDriftEstimator` via `AudioControls.referenceDriftMilliPPM`);
/// - what the estimate misses: a smoothed lead error beyond a deadband steers the same ratio
///   gently (a proportional term), so alignment holds over hours without a jump.
/// Only errors beyond `hardLimit` (start, xruns) and a new probe correction jump: drop
/// reference, or compare that many samples with silence. What playback takes back from the
/// device (a rewind, `AudioControls.referenceRetracted`) is dropped sample for sample, and an
/// idle speaker's silence is pushed like any other: the echo path the canceller learnt holds
/// from one answer to the next. Owned by the capture thread; nothing here allocates, locks
/// or logs.
final class ReferenceAligner {
    private let reference: SampleRing
    private let controls: AudioControls
    private let resampler = DriftResampler()
    /// Ring samples already taken out for the resampler.
    private let pending: UnsafeMutableBufferPointer<Int16>
    private var pendingCount = 0
    private let extraLead: Int
    private var smoothedError = 0.0
    private var framesSinceRatio = 0
    private var appliedPPM = 0.0
    /// The probe's correction in force; a new one is jumped to, not steered to.
    private var appliedCorrection = 0
    /// Reference samples still to be replaced by silence after a jump back.
    private var holdBack = 0
    /// The playback doze last seen ended (`AudioControls.playbackWakes`).
    private var playbackWakesSeen = 0
    /// Reference samples playback took back that were dropped here (`referenceRetracted`).
    private var retractedSeen = 0
    /// Jump to the target with the next reference pushed: at start (a configured margin
    /// under `hardLimit` would otherwise be steered to at 100 ppm, for minutes).
    private var realignOnReference = true
    /// The speaker woke from a doze: its first audio jumps only beyond `wakeLimit`.
    private var checkAfterWake = false
    /// Smoothed frames still to go after a jump on one frame's error before the settling jump.
    private var settleFrames = 0

    /// Beyond this the lead is wrong, not drifting: jump (40 ms).
    let hardLimit = 960
    /// After a doze the lead was not steered (its readings come in batches): an error beyond
    /// this (20 ms, twice a batch's spread) is the clocks having parted meanwhile, less is
    /// the readings' jitter, and jumping on it would move the echo path each answer.
    let wakeLimit = 480
    /// Smoothed errors inside this are left alone (2 ms): the canceller absorbs a constant
    /// offset, while steering moves the echo path it has learnt (docs/AUDIO.md, Steering).
    let deadband = 48.0
    /// Proportional steering: ppm per sample of smoothed error (1 ms off → 20 ppm).
    let steering = 20.0 / 24.0
    let maximumSteeringPPM = 100.0
    /// A jump on one frame's error (start, xruns, a wake) leaves the readings' own offset
    /// from that frame — up to a period, or a dozing speaker's batch, since the fill
    /// saw-tooths against the target — as smoothed error: once it has settled (3 s), it is
    /// jumped to once rather than steered to at up to 100 ppm for minutes, which moved the
    /// echo path under the canceller all along (12 dB ERLE in the HIL VM where 30+ was due).
    let settleAfter = 300

    init(reference: SampleRing, controls: AudioControls, extraLeadMilliseconds: Int) {
        self.reference = reference
        self.controls = controls
        extraLead = extraLeadMilliseconds * AudioFormat.wireRate / 1000
        pending = .allocate(capacity: 2 * AudioFormat.frameSamples)
        pending.initialize(repeating: 0)
    }

    deinit { pending.deallocate() }

    /// Fills `frame` with the reference for a mic frame captured `captureDelay` samples
    /// ago, at monotonic time `now` (nanoseconds). Returns true when a new probe correction
    /// moved the echo path: what the canceller learnt before is at the wrong lag.
    @discardableResult
    @inline(__always) func take(into frame: UnsafeMutableBufferPointer<Int16>, captureDelay: Int, now: Int) -> Bool {
        let retracted = controls.referenceRetracted.load(ordering: .relaxed)
        if retracted != retractedSeen {
            drop(retracted - retractedSeen)
            retractedSeen = retracted
        }
        let correction = controls.echoDelayCorrection.load(ordering: .relaxed)
        let target = targetLead(captureDelay: captureDelay, now: now) + correction
        let lead = reference.availableToRead + pendingCount + resampler.bufferedInput
        controls.referenceLead.store(lead, ordering: .relaxed)
        let error = lead - target
        // An idle speaker dozes: it pushes its silence several periods at a time, so nothing
        // is learnt from the lead meanwhile, and its first audio after is checked.
        let wakes = controls.playbackWakes.load(ordering: .relaxed)
        if wakes != playbackWakesSeen {
            playbackWakesSeen = wakes
            checkAfterWake = true
        }
        let dozing = controls.playbackDozing.load(ordering: .relaxed)
        let realign = realignOnReference && lead > 0
        if realign { realignOnReference = false }
        let parted = checkAfterWake && !dozing && abs(error) > wakeLimit
        if !dozing { checkAfterWake = false }
        let moved = holdBack == 0 && correction != appliedCorrection
        if holdBack == 0 && (abs(error) > hardLimit || realign || parted) {
            appliedCorrection = correction
            jump(error)
            smoothedError = 0
            settleFrames = settleAfter
        } else if moved {
            // A new correction moves the lead by its change and takes the smoothed error with
            // it (the echo path moves anyway); this frame's error would leave the offset
            // `settleAfter` is about.
            jumpOnAverage(less: correction - appliedCorrection)
            appliedCorrection = correction
        }
        var start = 0
        if holdBack > 0 {  // hold the reference back: these samples are compared with silence
            start = min(holdBack, frame.count)
            for i in 0..<start { frame[i] = 0 }
            holdBack -= start
        } else if !dozing && !realignOnReference {
            smoothedError += (Double(error) - smoothedError) * 0.01  // ~1 s at 100 frames/s
            if settleFrames > 0 {
                settleFrames -= 1
                if settleFrames == 0 && abs(smoothedError) > deadband { jumpOnAverage() }
            }
        }
        steer()
        resample(into: UnsafeMutableBufferPointer(rebasing: frame[start...]))
        return moved
    }

    /// Puts the lead `error` samples nearer its target: excess reference dropped, a shortfall
    /// held back (compared with silence).
    @inline(__always) private func jump(_ error: Int) {
        if error > 0 { drop(error) } else { holdBack = -error }
        controls.referenceRealignments.add(1, ordering: .relaxed)
    }

    /// Jumps by the smoothed error (the readings' average offset, which goes with it) less
    /// `shift` (a correction's change, which the target already carries).
    @inline(__always) private func jumpOnAverage(less shift: Int = 0) {
        let settled = Int(smoothedError.rounded())
        jump(settled - shift)
        smoothedError -= Double(settled)
    }

    /// Drops `count` samples of reference: those held back as silence first, then the
    /// resampler's pending input, then the ring's oldest.
    @inline(__always) private func drop(_ count: Int) {
        let held = min(count, holdBack)
        holdBack -= held
        let dropped = min(count - held, pendingCount)
        pending.baseAddress!.update(from: pending.baseAddress! + dropped, count: pendingCount - dropped)
        pendingCount -= dropped
        reference.discard(count - held - dropped)
    }

    /// Playback delay as measured after its last write, less the time since (the speaker
    /// played on meanwhile), plus this frame's age and the margin.
    @inline(__always) private func targetLead(captureDelay: Int, now: Int) -> Int {
        let measuredAt = controls.playbackDelayNanoseconds.load(ordering: .relaxed)
        let since = measuredAt > 0 ? max(0, min(now - measuredAt, 100_000_000)) : 0
        return controls.playbackDelay.load(ordering: .relaxed) - since * AudioFormat.wireRate / 1_000_000_000
            + captureDelay + extraLead
    }

    /// Ratio = measured clock drift − steering, updated twice a second.
    @inline(__always) private func steer() {
        framesSinceRatio += 1
        guard framesSinceRatio >= 50 else { return }
        framesSinceRatio = 0
        var steeringPPM = 0.0
        if settleFrames == 0 && abs(smoothedError) > deadband {
            let beyond = smoothedError > 0 ? smoothedError - deadband : smoothedError + deadband
            steeringPPM = max(-maximumSteeringPPM, min(maximumSteeringPPM, beyond * steering))
        }
        let ppm = Double(controls.referenceDriftMilliPPM.load(ordering: .relaxed)) / 1000 - steeringPPM
        guard abs(ppm - appliedPPM) >= 0.05 else { return }
        appliedPPM = ppm
        resampler.setDrift(partsPerMillion: ppm)
        controls.referenceRateMilliPPM.store(Int(ppm * 1000), ordering: .relaxed)
    }

    /// One frame out of the resampler, topping up its input from the ring (zeros when the
    /// ring runs dry: playback stopped).
    @inline(__always) private func resample(into frame: UnsafeMutableBufferPointer<Int16>) {
        var produced = 0
        var attempts = 0
        while produced < frame.count && attempts < 4 {
            attempts += 1
            let room = pending.count - pendingCount
            if room > 0 {
                let got = reference.pop(into: UnsafeMutableBufferPointer(rebasing: pending[pendingCount...]))
                pendingCount += got
            }
            guard pendingCount > 0 else { break }
            let (used, made) = resampler.process(
                from: UnsafeBufferPointer(rebasing: pending[0..<pendingCount]),
                into: UnsafeMutableBufferPointer(rebasing: frame[produced...]))
            produced += made
            pendingCount -= used
            if pendingCount > 0 { pending.baseAddress!.update(from: pending.baseAddress! + used, count: pendingCount) }
        }
        if produced < frame.count { for i in produced..<frame.count { frame[i] = 0 } }
    }
}
