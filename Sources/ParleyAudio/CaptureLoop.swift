import ParleyConfig
import Synchronization

/// The capture thread: read a period from ALSA, hand it to the `CaptureProcessor`,
/// recover from xruns, count. Owned by the capture thread.
final class CaptureLoop: @unchecked Sendable {
    private let pcm: ALSAPCM
    private let processor: CaptureProcessor
    private let counters: AudioCounters
    private let controls: AudioControls
    /// The processed audio's ring (the processor pushes; the doorbell reports its level).
    private let ring: SampleRing
    private let paced: Bool
    private let clock: StreamClock
    private let interleaved: UnsafeMutableBufferPointer<Int16>
    private let finished = Atomic<Bool>(false)
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    init(pcm: ALSAPCM, ring: SampleRing, reference: SampleRing, counters: AudioCounters, controls: AudioControls,
         clock: StreamClock, micChannel: Int, micMix: Bool, paced: Bool, dsp: DSPSettings) {
        self.pcm = pcm
        self.counters = counters
        self.controls = controls
        self.ring = ring
        self.paced = paced
        self.clock = clock
        processor = CaptureProcessor(rate: pcm.rate, channels: pcm.channels, periodFrames: pcm.periodFrames,
                                     ring: ring, reference: reference, counters: counters, controls: controls,
                                     micChannel: micChannel, micMix: micMix, dsp: dsp)
        interleaved = .allocate(capacity: pcm.periodFrames * pcm.channels)
        interleaved.initialize(repeating: 0)
    }

    deinit { interleaved.deallocate() }

    /// Waits for periods to read (`ALSAPCM.periodsDue`); a wake-up (the control plane wants
    /// every frame again) returns those already captured. A device that times out gives no
    /// heartbeat: a wedged device is the watchdog's.
    private func waitForPeriods(_ pacer: inout Pacer, _ periods: Int) -> Int {
        counters.wakeups.add(1, ordering: .relaxed)
        return pcm.periodsDue(periods, pacer: &pacer, paced: paced, orUntil: controls.doorbell.captureWake)
    }

    func run() {
        var pacer = Pacer(periodNanoseconds: pcm.periodNanoseconds)
        let frames = pcm.periodFrames
        var read = 0  // frames read since start or the last xrun
        var due = 0  // periods to read before waiting again
        var dozing = false
        clock.discontinuity()
        counters.started()
        while controls.running.load(ordering: .relaxed) {
            if controls.deviceLost.load(ordering: .relaxed) {
                // Parked until the control plane reopens the devices; still beating, so the
                // systemd watchdog leaves the recovery to us.
                counters.beat()
                sleepNanoseconds(pcm.periodNanoseconds)
                continue
            }
            if due == 0 {
                // Idle — no turn streams and the speaker dozes, so the frames only keep the
                // pre-roll and the noise estimate fresh — several periods per wake-up, each
                // still processed in order.
                let doze = !controls.doorbell.wantsEveryFrame && controls.playbackDozing.load(ordering: .relaxed)
                if doze != dozing {
                    dozing = doze
                    if !paced { pcm.wake(afterPeriods: doze ? pcm.dozePeriods : 1) }
                }
                due = waitForPeriods(&pacer, dozing ? pcm.dozePeriods : 1)
                guard due > 0 else { continue }
            }
            counters.beat()
            due -= 1
            let n = pcm.read(interleaved.baseAddress!, frames: frames)
            if n < 0 {
                _ = pcm.recover(n, counters: counters, controls: controls)
                read = 0
                due = 0
                clock.discontinuity()
                continue
            }
            guard n > 0 else { continue }
            let waiting = pcm.delay()
            read += n
            if let (avail, at) = pcm.position() {
                clock.publish(frames: read + avail, at: at)  // captured by the hardware as of `at`
            }
            let captureDelay = (waiting + n) * AudioFormat.wireRate / pcm.rate
            processor.process(interleaved.baseAddress!, frames: n, captureDelay: captureDelay, now: monotonicNanoseconds())
            counters.frames.add(UInt64(n), ordering: .relaxed)
            controls.doorbell.captured(available: ring.availableToRead)
        }
        finished.store(true, ordering: .releasing)
    }
}

/// The format on the control-plane side of the rings, and on the wire.
public enum AudioFormat {
    /// PCM16 mono at 24 kHz: what OpenAI Realtime and the PCM relays take.
    public static let wireRate = 24000
    /// One DSP frame: 10 ms at 24 kHz.
    public static let frameSamples = 240
}
