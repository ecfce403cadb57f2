import ParleyDSP
import Synchronization

/// The playback thread's work: take a period's worth of 24 kHz audio from the ring
/// (silence where the ring runs short, never a repeated period), mix in any cue, apply
/// volume, keep it as the echo reference, resample to the device rate, copy to every
/// channel, write. Owned by the playback thread.
final class PlaybackLoop: @unchecked Sendable {
    private let pcm: ALSAPCM
    private let ring: SampleRing
    /// Short cues, mixed over the voice so a barge-in's discard does not cut them.
    private let cues: SampleRing
    /// The exact 24 kHz samples sent to the speaker, for the echo canceller.
    private let reference: SampleRing
    private let counters: AudioCounters
    private let controls: AudioControls
    private let paced: Bool
    private let clock: StreamClock
    private let resampler: Resampler
    private let wireFrames: Int
    /// Audio held back when the speaker starts from idle (audio.jitter_ms), so chunks
    /// arriving unevenly from the network do not underrun mid-word.
    private let jitterSamples: Int
    private let wire: UnsafeMutableBufferPointer<Int16>
    private let cue: UnsafeMutableBufferPointer<Int16>
    private let mono: UnsafeMutableBufferPointer<Int16>
    private let interleaved: UnsafeMutableBufferPointer<Int16>
    private let finished = Atomic<Bool>(false)
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    init(pcm: ALSAPCM, ring: SampleRing, cues: SampleRing, reference: SampleRing, counters: AudioCounters, controls: AudioControls,
         clock: StreamClock, paced: Bool, resamplerQuality: Int, jitterMilliseconds: Int) {
        self.pcm = pcm
        self.ring = ring
        self.cues = cues
        self.reference = reference
        self.counters = counters
        self.controls = controls
        self.paced = paced
        self.clock = clock
        resampler = Resampler(from: AudioFormat.wireRate, to: pcm.rate, quality: resamplerQuality)
        wireFrames = pcm.periodFrames * AudioFormat.wireRate / pcm.rate
        jitterSamples = jitterMilliseconds * AudioFormat.wireRate / 1000
        wire = .allocate(capacity: wireFrames)
        wire.initialize(repeating: 0)
        cue = .allocate(capacity: wireFrames)
        cue.initialize(repeating: 0)
        mono = .allocate(capacity: pcm.periodFrames + 16)
        mono.initialize(repeating: 0)
        interleaved = .allocate(capacity: (pcm.periodFrames + 16) * pcm.channels)
        interleaved.initialize(repeating: 0)
    }

    deinit {
        wire.deallocate()
        cue.deallocate()
        mono.deallocate()
        interleaved.deallocate()
    }

    /// What a rewind leaves queued: the refill is written right after it (same thread,
    /// microseconds), so this only has to outlast a scheduling hiccup.
    private var rewindSafetyFrames: Int { max(64, pcm.rate / 500) }  // 2 ms

    /// Silence written before the speaker dozes (3 s, when the capture side's canceller
    /// rests too).
    private var dozeAfterPeriods: Int { 3_000_000_000 / pcm.periodNanoseconds }

    /// Waits for the device to take periods (or the pacer's), or for the control plane's
    /// wake-up — a flush, or audio pushed while dozing — which is carried out at once;
    /// returns the periods due now (none when woken before the next).
    private func waitForPeriods(_ pacer: inout Pacer, _ periods: Int) -> Int {
        counters.wakeups.add(1, ordering: .relaxed)
        return pcm.periodsDue(periods, pacer: &pacer, paced: paced, orUntil: controls.playbackWake)
    }

    /// An idle speaker dozes: silence is written several periods at a time, pushed as echo
    /// reference without resampling or mixing. Audio pushed to either ring wakes it (`doze`).
    private func doze(_ on: Bool) -> Bool {
        ring.doze(on)
        cues.doze(on)
        if on && (ring.availableToRead > 0 || cues.availableToRead > 0) {  // pushed meanwhile
            ring.doze(false)
            cues.doze(false)
            return false
        }
        if on {
            interleaved.update(repeating: 0)
        } else {
            controls.playbackWakes.add(1, ordering: .relaxed)
            controls.doorbell.captureWake.signal()  // the capture side stops dozing too
        }
        controls.playbackDozing.store(on, ordering: .relaxed)
        if !paced { pcm.wake(afterPeriods: on ? pcm.dozePeriods : 1) }
        return on
    }

    func run() {
        var pacer = Pacer(periodNanoseconds: pcm.periodNanoseconds)
        let frames = pcm.periodFrames
        let channels = pcm.channels
        var written = 0  // frames written since start or the last xrun
        clock.discontinuity()
        var playing = false  // false: idle, priming the jitter buffer
        var primingWait = 0  // samples' worth of time spent priming
        // What sits at the end of the device buffer, in device frames: silence, and frames
        // without a cue. Voice that starts from idle, and a barge-in, take those back
        // (snd_pcm_rewind) instead of waiting a whole buffer behind them.
        var silentTail = 0
        var cuelessTail = 0
        var owed = 0  // periods to write at once, refilling what a rewind took back
        var due = 0  // periods the device takes now, written before waiting again
        var silentPeriods = 0  // periods of silence written in a row
        var dozing = doze(false)  // awake at (re)start, whatever the last run left
        counters.started()
        while controls.running.load(ordering: .relaxed) {
            if controls.deviceLost.load(ordering: .relaxed) {
                counters.beat()
                sleepNanoseconds(pcm.periodNanoseconds)  // parked, see CaptureLoop
                continue
            }
            var period = true  // false: woken before the next period (a flush)
            if owed > 0 {
                owed -= 1
            } else if due > 0 {
                due -= 1
            } else {
                let idle = !playing && silentPeriods >= dozeAfterPeriods
                    && ring.availableToRead == 0 && cues.availableToRead == 0
                if idle != dozing { dozing = doze(idle) }
                due = waitForPeriods(&pacer, dozing ? pcm.dozePeriods : 1)
                counters.beat()
                if due > 0 { due -= 1 } else { period = false }
            }
            // Audio pushed while dozing (the push woke the thread, or came mid-batch).
            if dozing && (ring.availableToRead > 0 || cues.availableToRead > 0) { dozing = doze(false) }
            // Barge-in: the controller flushed the voice; what the device still holds goes too
            // (a cue in it stays whole) — also when the ring was already empty and the end of
            // the answer is all in the device.
            var takeBack = 0
            if ring.applyFlush() != nil {
                takeBack = cuelessTail
                playing = false
                primingWait = 0
            }
            // Start from idle once the jitter buffer is full, or once the audio waited that
            // long anyway (a short answer, the end of one).
            let queued = ring.availableToRead
            if !playing && queued > 0 {
                primingWait += wireFrames
                playing = queued >= jitterSamples || primingWait >= jitterSamples
                if playing { takeBack = silentTail }  // the voice goes out ahead of queued silence
            }
            if takeBack > 0 {
                let back = pcm.rewind(upTo: takeBack, keep: rewindSafetyFrames)
                written -= back
                // It went out as echo reference too: the capture side drops as much, or the
                // echo would come that much earlier than the reference says, every answer.
                controls.referenceRetracted.add(back * AudioFormat.wireRate / pcm.rate, ordering: .relaxed)
                silentTail = max(0, silentTail - back)
                cuelessTail = max(0, cuelessTail - back)
                // Refill the buffer to its level now, with what is queued (or silence after a
                // barge-in), not one period per tick: the margin against xruns stays. Whole
                // periods, rounded up so the level is never left short (a device past full
                // holds the write; the file plugin writes the excess out).
                let periods = (back + frames - 1) / frames
                owed = playing ? min(periods, queued / wireFrames) : periods
            }
            if !period {
                // Between periods: write only what the rewind took back, nothing ahead of the device.
                guard owed > 0 else { continue }
                owed -= 1
            }
            let got = playing ? ring.pop(into: wire) : 0
            controls.doorbell.played(remaining: ring.availableToRead)
            if got == 0 && ring.availableToRead == 0 { playing = false; primingWait = 0 }
            if got < wireFrames {
                for i in got..<wireFrames { wire[i] = 0 }
                // An empty ring is idle silence; a partial one is an underrun mid-speech.
                if got > 0 { counters.ringMisses.add(UInt64(wireFrames - got), ordering: .relaxed) }
            }
            let cued = cues.pop(into: cue)
            let buffered = pcm.bufferFrames
            silentTail = got == 0 && cued == 0 ? min(buffered, silentTail + frames) : 0
            cuelessTail = cued == 0 ? min(buffered, cuelessTail + frames) : 0
            silentPeriods = got == 0 && cued == 0 ? silentPeriods + 1 : 0
            if !dozing {
                let volume = Int(controls.volumeQ12.load(ordering: .relaxed))
                for i in 0..<wireFrames {
                    let mixed = Int(wire[i]) + (i < cued ? Int(cue[i]) : 0)
                    wire[i] = Int16(clamping: (mixed * volume) >> 12)
                }
            }
            // Dozing, `wire` is silence: still reference, so the echo path stays where it was.
            reference.push(UnsafeBufferPointer(wire))
            if !dozing {  // dozing: `interleaved` holds silence, and the resampler's history is silent
                var produced = resampler.process(UnsafeBufferPointer(wire), into: mono)
                while produced < frames { mono[produced] = 0; produced += 1 }
                for i in 0..<frames {
                    for c in 0..<channels { interleaved[i * channels + c] = mono[i] }
                }
            }
            var offset = 0
            while offset < frames && controls.running.load(ordering: .relaxed) {
                let n = pcm.write(interleaved.baseAddress! + offset * channels, frames: frames - offset)
                if n < 0 {
                    written = 0
                    silentTail = 0
                    cuelessTail = 0
                    clock.discontinuity()
                    guard pcm.recover(n, counters: counters, controls: controls) else { break }
                } else {
                    offset += n
                    written += n
                }
            }
            let delay = pcm.delay()
            if let (queued, at) = pcm.position() {
                clock.publish(frames: written - queued, at: at)  // played by the hardware as of `at`
            }
            controls.playbackDelay.store(delay * AudioFormat.wireRate / pcm.rate, ordering: .relaxed)
            controls.playbackDelayNanoseconds.store(monotonicNanoseconds(), ordering: .relaxed)
            counters.frames.add(UInt64(frames), ordering: .relaxed)
        }
        finished.store(true, ordering: .releasing)
    }
}
