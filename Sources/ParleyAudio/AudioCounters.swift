#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import CALSA

/// What an audio thread tells the control plane, by counting only (the hot path never
/// logs). A supervisor reads these: a heartbeat that stops advancing means a hung thread.
public final class AudioCounters: Sendable {
    public let heartbeat = Atomic<UInt64>(0)
    /// Times the thread woke from its wait for the device (or pacer): once a period, once
    /// per 30 ms while dozing.
    public let wakeups = Atomic<UInt64>(0)
    public let frames = Atomic<UInt64>(0)
    public let xruns = Atomic<UInt64>(0)
    /// Samples the ring had no room for (capture) or did not have (playback underrun).
    public let ringMisses = Atomic<UInt64>(0)
    public let errors = Atomic<UInt64>(0)
    /// Last ALSA error code seen (negative errno), 0 when none.
    public let lastError = Atomic<Int32>(0)
    /// CPU time the thread has used since it started (CLOCK_THREAD_CPUTIME_ID, read each
    /// period: one vDSO/syscall clock read, no allocation or lock), and when it started
    /// (CLOCK_MONOTONIC); a restarted thread starts both afresh.
    public let cpuNanoseconds = Atomic<UInt64>(0)
    public let startedNanoseconds = Atomic<UInt64>(0)
    /// Capture with `dsp.vad`: whether the latest DSP frame (10 ms) carried voice, and how many did.
    public let voiceActive = Atomic<Bool>(false)
    public let voiceFrames = Atomic<UInt64>(0)

    public init() {}

    public struct Snapshot: Sendable, Equatable {
        public let heartbeat: UInt64
        public let frames: UInt64
        public let xruns: UInt64
        public let ringMisses: UInt64
        public let errors: UInt64
    }

    public func snapshot() -> Snapshot {
        Snapshot(heartbeat: heartbeat.load(ordering: .relaxed), frames: frames.load(ordering: .relaxed),
                 xruns: xruns.load(ordering: .relaxed), ringMisses: ringMisses.load(ordering: .relaxed),
                 errors: errors.load(ordering: .relaxed))
    }

    @inline(__always) func beat() {
        heartbeat.add(1, ordering: .relaxed)
        cpuNanoseconds.store(Self.nanoseconds(CLOCK_THREAD_CPUTIME_ID), ordering: .relaxed)
    }

    /// Called by the thread as it starts.
    func started() {
        cpuNanoseconds.store(0, ordering: .relaxed)
        startedNanoseconds.store(Self.nanoseconds(CLOCK_MONOTONIC), ordering: .relaxed)
    }

    /// Share of one core the thread has used since it started, in percent (nil before it ran).
    public var cpuPercent: Double? {
        let started = startedNanoseconds.load(ordering: .relaxed)
        let wall = Self.nanoseconds(CLOCK_MONOTONIC) &- started
        guard started > 0, wall > 0 else { return nil }
        return 100 * Double(cpuNanoseconds.load(ordering: .relaxed)) / Double(wall)
    }

    @inline(__always) static func nanoseconds(_ clock: clockid_t) -> UInt64 {
        var t = timespec()
        clock_gettime(clock, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}

/// Values the control plane sets and the audio threads read each period.
public final class AudioControls: Sendable {
    /// - Parameter recordsSpeakerCurve: allocate `curveRecorder` (dsp.aec_speaker_curve).
    public init(recordsSpeakerCurve: Bool = false) {
        curveRecorder = EchoPathRecorder(samples: recordsSpeakerCurve ? AudioFormat.wireRate * 4 : 0)
    }
    let running = Atomic<Bool>(false)
    /// How the audio threads wake the control plane.
    let doorbell = AudioDoorbell()
    /// Wakes the playback thread: the control plane flushed the speaker ring (barge-in), or
    /// pushed audio while the thread dozed.
    let playbackWake = EventFD()
    /// The playback thread dozes (an idle speaker, written several periods a time, its
    /// silence pushed as echo reference in the same batches); a new count ends a doze, and
    /// the capture side checks the reference's lead (written by playback).
    let playbackDozing = Atomic<Bool>(false)
    let playbackWakes = Atomic<Int>(0)
    /// Set by an audio thread when its device failed beyond snd_pcm_recover (unplugged,
    /// server gone); the thread then parks, and the control plane reopens the devices.
    let deviceLost = Atomic<Bool>(false)
    /// Mic gain and speaker volume, Q12 fixed point (4096 = unity).
    let micGainQ12 = Atomic<Int32>(4096)
    let volumeQ12 = Atomic<Int32>(4096)
    /// Playback delay measured after each write, in 24 kHz samples, and when (monotonic
    /// nanoseconds; written by playback).
    let playbackDelay = Atomic<Int>(0)
    let playbackDelayNanoseconds = Atomic<Int>(0)
    /// Capture clock rate relative to playback's, from the clock comparison (set by the
    /// control plane once a second; thousandths of a ppm, positive: the mic runs fast).
    let referenceDriftMilliPPM = Atomic<Int>(0)
    /// The rate the reference resampler runs at: drift less the alignment steering
    /// (thousandths of a ppm; written by capture).
    let referenceRateMilliPPM = Atomic<Int>(0)
    /// Added to the reference lead after the echo-delay probe (24 kHz samples; control plane).
    let echoDelayCorrection = Atomic<Int>(0)
    /// What the canceller saw, recorded on request for the echo-delay probe (1.2 s).
    let echoRecorder = EchoPathRecorder(samples: AudioFormat.wireRate * 6 / 5)
    /// The same, for finding the speaker's curve (`SpeakerCurveFit`: 4 s; empty without it).
    let curveRecorder: EchoPathRecorder
    /// The speaker's limit the reference is bent by before the canceller (`SpeakerCurve`;
    /// 16-bit scale, 0: straight; control plane).
    let speakerLimit = Atomic<Int>(0)
    /// Reference samples playback pushed and then took back from the device before they
    /// played (snd_pcm_rewind), in all; the capture side drops as many (written by playback).
    let referenceRetracted = Atomic<Int>(0)
    /// How far the echo reference leads the capture, in 24 kHz samples (written by capture).
    let referenceLead = Atomic<Int>(0)
    /// Times the capture thread re-aligned the reference (start, xruns, drift).
    let referenceRealignments = Atomic<Int>(0)
    /// The capture chain's live echo measures (written by capture).
    let echoMeasures = EchoMeasureBoard()
}
