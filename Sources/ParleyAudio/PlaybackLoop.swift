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

    private enum Turn { case period, refill, flushed }

    /// Waits for the next period's turn — the pacer's deadline, or room in the device — or
    /// for the control plane's flush, which is carried out at once rather than at the turn.
    private func nextTurn(_ pacer: inout Pacer) -> Turn {
        let wake = controls.playbackFlushed
        if paced { return pacer.wait(orUntil: wake) ? .flushed : .period }
        while controls.running.load(ordering: .relaxed) {
            switch pcm.wait(orUntil: wake, timeoutMilliseconds: Int32(4 * pcm.periodNanoseconds / 1_000_000 + 1)) {
            case .ready: return .period
            case .woken: return .flushed
            case .timedOut: counters.beat()
            }
        }
        return .period
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
        counters.started()
        while controls.running.load(ordering: .relaxed) {
            counters.beat()
            if controls.deviceLost.load(ordering: .relaxed) {
                sleepNanoseconds(pcm.periodNanoseconds)  // parked, see CaptureLoop
                continue
            }
            let turn: Turn
            if owed > 0 {
                owed -= 1
                turn = .refill
            } else {
                turn = nextTurn(&pacer)
            }
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
                silentTail = max(0, silentTail - back)
                cuelessTail = max(0, cuelessTail - back)
                // Refill the buffer to its level now, with what is queued (or silence after a
                // barge-in), not one period per tick: the margin against xruns stays. Whole
                // periods, rounded up so the level is never left short (a device past full
                // holds the write; the file plugin writes the excess out).
                let periods = (back + frames - 1) / frames
                owed = playing ? min(periods, queued / wireFrames) : periods
            }
            if turn == .flushed {
                // Between turns: write only what the rewind took back, nothing ahead of the device.
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
            let volume = Int(controls.volumeQ12.load(ordering: .relaxed))
            for i in 0..<wireFrames {
                let mixed = Int(wire[i]) + (i < cued ? Int(cue[i]) : 0)
                wire[i] = Int16(clamping: (mixed * volume) >> 12)
            }
            reference.push(UnsafeBufferPointer(wire))
            var produced = resampler.process(UnsafeBufferPointer(wire), into: mono)
            while produced < frames { mono[produced] = 0; produced += 1 }
            for i in 0..<frames {
                for c in 0..<channels { interleaved[i * channels + c] = mono[i] }
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
