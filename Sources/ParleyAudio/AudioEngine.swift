import CALSA
import CParleyShims
import ParleyConfig
import ParleyDSP
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Owns the capture and playback devices and their threads. The control plane talks to
/// it only through the two rings, the counters and a few atomics (gain, volume).
public final class AudioEngine: Sendable {
    /// 24 kHz mono from the microphone (after downmix, gain, resampling). Control plane consumes.
    public let captured: SampleRing
    /// 24 kHz mono for the speaker. Control plane produces.
    public let playback: SampleRing
    /// 24 kHz mono cues, mixed over `playback`. Control plane produces.
    public let cues: SampleRing
    /// What went to the speaker, playback thread → capture thread (echo reference).
    private let reference = SampleRing(minimumCapacity: AudioFormat.wireRate)
    public let captureCounters = AudioCounters()
    public let playbackCounters = AudioCounters()
    /// Hardware positions of both devices, for the clock drift estimate.
    public let captureClock = StreamClock()
    public let playbackClock = StreamClock()

    public struct Status: Sendable, Equatable {
        public var captureDevice: String
        public var playbackDevice: String
        public var rate: Int
        public var periodFrames: Int
        public var scheduling: AudioScheduling
    }

    private let settings: AudioSettings
    private let dsp: DSPSettings
    private let controls: AudioControls
    // Control-plane state below: touched only by start()/stop(), which the daemon calls in turn.
    /// The running threads and what `status` reports: written by start and stop (the daemon,
    /// the audio supervisor's reopen), read by status — behind one lock.
    private let running = Mutex(Running())
    private struct Running {
        var threads: [(thread: pthread_t, loop: any AudioLoop)] = []
        var status: Status?
    }
    public var status: Status? { running.withLock { $0.status } }
    /// Speaker volume and mic gain as asked for, and the card's mixer that carries what it
    /// can of them; set from reloads while the supervisor may be reopening, hence the lock.
    private let levels: Mutex<Levels>
    private struct Levels {
        var volumePercent: Int
        var micGainDecibels: Double
        var mixer: ALSAMixer?
    }

    public init(settings: AudioSettings, dsp: DSPSettings) {
        self.settings = settings
        self.dsp = dsp
        controls = AudioControls(recordsSpeakerCurve: dsp.echoCancellation && dsp.speakerCurve)
        CParley_alsa_silence_library_errors()
        // One second either way: the control plane drains every 10 ms, so this is slack.
        captured = SampleRing(minimumCapacity: AudioFormat.wireRate)
        playback = SampleRing(minimumCapacity: AudioFormat.wireRate * 4, wake: controls.playbackWake)
        cues = SampleRing(minimumCapacity: AudioFormat.wireRate * 2, wake: controls.playbackWake)
        memoryLock = settings.lockMemory ? MemoryLock.lockTouchedPages() : nil
        levels = Mutex(Levels(volumePercent: settings.volumePercent, micGainDecibels: settings.micGainDecibels))
        _ = levels.withLock { applyLevels(&$0) }
    }

    /// What `audio.lock_memory` got (nil when not asked for); locked once, at creation.
    public let memoryLock: MemoryLock?

    /// True once an audio thread found its device gone; `reopen()` brings it back.
    /// How the audio threads wake the control plane (no polling).
    public var doorbell: AudioDoorbell { controls.doorbell }
    public var isDeviceLost: Bool { controls.deviceLost.load(ordering: .acquiring) }
    /// The speaker has played silence for 3 s and its thread wakes once per 30 ms instead of
    /// every period (so does the capture thread, unless a turn streams).
    public var isDozing: Bool { controls.playbackDozing.load(ordering: .relaxed) }

    /// The last ALSA error an audio thread saw, as text.
    public var lastDeviceError: String {
        let code = min(captureCounters.lastError.load(ordering: .relaxed),
                       playbackCounters.lastError.load(ordering: .relaxed))
        if code != 0 { return String(cString: snd_strerror(code)) }
        return openFailure.withLock { $0 } ?? "none"
    }

    /// Why the devices could not be opened at start, until they are.
    private let openFailure = Mutex<String?>(nil)

    /// Starts, or when the devices cannot be opened (no sound card yet), marks them lost so
    /// the supervisor reopens them with backoff: the daemon waits for its hardware rather than
    /// exiting into a restart loop. Returns the mixer notes, or the open failure.
    public func startOrAwaitDevices() -> Result<[String], AudioError> {
        do {
            return .success(try start())
        } catch {
            openFailure.withLock { $0 = "\(error)" }
            controls.deviceLost.store(true, ordering: .releasing)
            return .failure(error)
        }
    }

    /// Stops the threads, closes and reopens both devices, starts again (after a loss).
    @discardableResult
    public func reopen() throws(AudioError) -> [String] {
        stop()
        controls.deviceLost.store(false, ordering: .releasing)
        do {
            let notes = try start()
            openFailure.withLock { $0 = nil }
            return notes
        } catch {
            controls.deviceLost.store(true, ordering: .releasing)
            throw error
        }
    }

    /// Opens both devices and starts the threads. Returns problems with the mixer controls,
    /// which are not fatal: software gain carries the volume then.
    @discardableResult
    public func start() throws(AudioError) -> [String] {
        let period = settings.periodFrames
        let capturePCM = try ALSAPCM(device: settings.captureDevice, direction: .capture, rate: settings.rate,
                                     channels: settings.captureChannels, periodFrames: period,
                                     bufferPeriods: settings.bufferPeriods)
        let playbackPCM = try ALSAPCM(device: settings.playbackDevice, direction: .playback, rate: settings.rate,
                                      channels: settings.playbackChannels, periodFrames: period,
                                      bufferPeriods: settings.bufferPeriods)
        let paced = settings.pacing == .clock
        let capture = CaptureLoop(pcm: capturePCM, ring: captured, reference: reference, counters: captureCounters,
                                  controls: controls, clock: captureClock, micChannel: settings.micChannel, micMix: settings.micMix,
                                  paced: paced, dsp: dsp)
        let play = PlaybackLoop(pcm: playbackPCM, ring: playback, cues: cues, reference: reference, counters: playbackCounters,
                                controls: controls, clock: playbackClock, paced: paced, resamplerQuality: dsp.resamplerQuality,
                                jitterMilliseconds: settings.jitterMilliseconds)
        try capturePCM.start()
        controls.running.store(true, ordering: .releasing)
        var scheduling = AudioScheduling.normalByConfiguration
        for (name, loop) in [("parley-capture", capture as any AudioLoop), ("parley-playback", play)] {
            guard let started = RealtimeThread.start(name: name, priority: settings.realtimePriority, body: loop.run)
            else {
                stop()
                throw AudioError(.thread, device: name, "cannot create thread")
            }
            let first = running.withLock {
                $0.threads.append((started.thread, loop))
                return $0.threads.count == 1
            }
            // The worse of the two threads' outcomes is what counts.
            if first || started.scheduling != .realtime(priority: settings.realtimePriority) {
                scheduling = started.scheduling
            }
        }
        let status = Status(captureDevice: settings.captureDevice, playbackDevice: settings.playbackDevice,
                            rate: capturePCM.rate, periodFrames: capturePCM.periodFrames, scheduling: scheduling)
        running.withLock { $0.status = status }
        return openMixer()
    }

    /// (Re)opens the mixer after the devices: a replugged card needs a fresh handle.
    private func openMixer() -> [String] {
        let playbackControl = settings.playbackMixerControl, captureControl = settings.captureMixerControl
        guard playbackControl?.isEmpty == false || captureControl?.isEmpty == false else { return [] }
        return levels.withLock { levels in
            levels.mixer = nil
            var notes: [String] = []
            do {
                levels.mixer = try ALSAMixer(card: settings.mixerCard, playbackControl: playbackControl,
                                             captureControl: captureControl)
                notes = levels.mixer?.notes ?? []
            } catch {
                notes = ["\(error); volume and mic gain stay in software"]
            }
            notes += applyLevels(&levels)
            return notes
        }
    }

    /// Puts the levels on the mixer where there is one, the rest in software gain.
    @discardableResult
    private func applyLevels(_ levels: inout Levels) -> [String] {
        var softwareVolume = levels.volumePercent
        var softwareGain = levels.micGainDecibels
        var notes: [String] = []
        if let mixer = levels.mixer {
            do {
                if mixer.controlsPlayback {
                    try mixer.setVolume(percent: levels.volumePercent)
                    softwareVolume = 100
                }
                softwareGain = try mixer.setMicGain(decibels: levels.micGainDecibels)
            } catch {
                notes.append("\(error)")
            }
        }
        controls.volumeQ12.store(Int32(max(0, min(100, softwareVolume)) * 4096 / 100), ordering: .relaxed)
        let linear = pow(10, softwareGain / 20)
        controls.micGainQ12.store(Int32(min(Double(Int32.max / 65536), linear * 4096)), ordering: .relaxed)
        return notes
    }

    /// Stops the threads. A thread stuck in a device call is left behind (detached) after
    /// `timeoutMilliseconds` so shutdown never hangs; returns false in that case.
    @discardableResult
    public func stop(timeoutMilliseconds: Int = 300) -> Bool {
        controls.running.store(false, ordering: .releasing)
        var allStopped = true
        let threads = running.withLock { state in
            defer { state.threads.removeAll() }
            return state.threads
        }
        for (thread, loop) in threads {
            var waited = 0
            while !loop.isFinished && waited < timeoutMilliseconds {
                sleepNanoseconds(2_000_000)
                waited += 2
            }
            if loop.isFinished {
                pthread_join(thread, nil)
            } else {
                // The thread's closure keeps its loop and device alive; nothing is freed under it.
                pthread_detach(thread)
                allStopped = false
            }
        }
        return allStopped
    }

    /// How the echo reference is kept in line with the microphone (status and metrics).
    public struct EchoReference: Sendable {
        /// How far the reference leads the capture (ms).
        public var leadMilliseconds: Double
        /// Times it jumped into line (start, xruns, the delay probe).
        public var realignments: Int
        /// The reference resampler's rate offset: clock drift less alignment steering (ppm).
        public var resamplerPPM: Double
        /// The correction the echo-delay probe or the alignment on speech made to the lead (ms).
        public var probeCorrectionMilliseconds: Double
    }

    public var echoReference: EchoReference {
        EchoReference(
            leadMilliseconds: Double(controls.referenceLead.load(ordering: .relaxed)) * 1000 / Double(AudioFormat.wireRate),
            realignments: controls.referenceRealignments.load(ordering: .relaxed),
            resamplerPPM: Double(controls.referenceRateMilliPPM.load(ordering: .relaxed)) / 1000,
            probeCorrectionMilliseconds: Double(controls.echoDelayCorrection.load(ordering: .relaxed)) * 1000
                / Double(AudioFormat.wireRate))
    }

    /// The capture chain's live echo measures: how many ended (one per answer, or per 8 s of
    /// far-end-only audio), and the last.
    public var echoHealth: (measures: Int, last: EchoHealthMeter.Measure?) { controls.echoMeasures.read() }

    /// Measures the echo delay: has `play` put `probe` on the speaker (through the cue ring's
    /// one producer, the controller) while recording what the canceller sees, then moves the
    /// reference so it leads the echo by `margin` samples. Returns the echo's lag behind the
    /// reference before the correction (samples), or nil when no echo stood out. Control
    /// plane; waits up to two seconds.
    public func probeEchoDelay(probe: [Int16], margin: Int,
                               play: @Sendable ([Int16]) async -> Void) async -> EchoDelayEstimator.Estimate? {
        let recorder = controls.echoRecorder
        recorder.arm()
        await play(probe)
        var recording: (mic: [Int16], reference: [Int16])?
        for _ in 0..<40 {
            try? await Task.sleep(for: .milliseconds(50))
            recording = recorder.take()
            if recording != nil { break }
        }
        guard let recording else { return nil }
        return controls.correctEchoDelay(mic: recording.mic, reference: recording.reference, margin: margin)
    }

    /// Frames (10 ms) of far-end audio in a row before the speech aligner records.
    public static let alignAfterReferenceFrames = 25

    /// Measures the echo delay on the far end's own speech — no sound of its own: records
    /// what the canceller sees once the reference has carried audio for a quarter second
    /// (the next answer), then moves the reference so it leads the echo by `margin` samples,
    /// unless it already does within `tolerance`. Returns the echo's lag behind the reference
    /// before any move, or nil when no echo stood out. Control plane; waits for an answer
    /// as long as it takes (cancel the task to stop).
    public func alignEchoOnSpeech(margin: Int, tolerance: Int) async -> EchoDelayEstimator.Estimate? {
        guard let recording = await Self.recordAnswer(controls.echoRecorder) else { return nil }
        return controls.correctEchoDelay(mic: recording.mic, reference: recording.reference, margin: margin,
                                         tolerance: tolerance)
    }

    /// Arms `recorder` for the next answer (once the reference has carried audio for a
    /// quarter second) and waits for its recording; nil when cancelled first.
    private static func recordAnswer(_ recorder: EchoPathRecorder) async -> (mic: [Int16], reference: [Int16])? {
        recorder.arm(afterReferenceFrames: alignAfterReferenceFrames)
        while !Task.isCancelled {
            if let recording = recorder.take() { return recording }
            try? await Task.sleep(for: .milliseconds(250))
        }
        recorder.disarm()
        return nil
    }

    /// Records what the canceller sees for 4 s of the next answer (once the reference has
    /// carried audio for a quarter second) and finds the speaker's curve in it
    /// (`SpeakerCurveFit`, on a thread of its own at nice 10: about a second of CPU on a Pi,
    /// kept off the control plane's threads); bends the reference by it from then on, or
    /// straightens it. Nil when the recording held no far end; waits for an answer as long
    /// as it takes (cancel the task to stop).
    public func fitSpeakerCurve(tailMilliseconds: Int) async -> SpeakerCurveFit.Result? {
        guard let recording = await Self.recordAnswer(controls.curveRecorder) else { return nil }
        var fit = SpeakerCurveFit(mic: recording.mic, reference: recording.reference, frameSize: AudioFormat.frameSamples,
                                  tailSamples: AudioFormat.wireRate * tailMilliseconds / 1000, rate: AudioFormat.wireRate)
        let controls = controls
        return await withCheckedContinuation { (done: CheckedContinuation<SpeakerCurveFit.Result?, Never>) in
            let started = RealtimeThread.start(name: "parley-curve", priority: 0, touchesStack: false) {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // Linux: this thread only
                let result = fit.run()
                if let result { controls.speakerLimit.store(result.limit ?? 0, ordering: .relaxed) }
                CParley_malloc_trim()  // the cancellers' states are gone: give their pages back
                done.resume(returning: result)
            }
            if let started { pthread_detach(started.thread) } else { done.resume(returning: nil) }
        }
    }

    /// The limit the echo reference is bent by (`SpeakerCurve`), nil: straight.
    public var speakerLimit: Int? {
        let limit = controls.speakerLimit.load(ordering: .relaxed)
        return limit > 0 ? limit : nil
    }

    /// The measured capture/playback clock drift (ppm, positive: the mic runs fast); the
    /// capture thread resamples the echo reference by it.
    public func setClockDrift(partsPerMillion ppm: Double) {
        controls.referenceDriftMilliPPM.store(Int((ppm * 1000).rounded()), ordering: .relaxed)
    }

    /// Speaker volume in percent: on the playback mixer control if one is named, else in
    /// software. Returns mixer problems (worth a log line).
    @discardableResult
    public func setVolume(percent: Int) -> [String] {
        levels.withLock { $0.volumePercent = percent; return applyLevels(&$0) }
    }

    /// Volume and mic gain together (a reload): one pass over the mixer. Mic gain goes to the
    /// capture mixer control as far as its dB range reaches, the rest in software.
    @discardableResult
    public func setLevels(volumePercent: Int, micGainDecibels: Double) -> [String] {
        levels.withLock {
            $0.volumePercent = volumePercent
            $0.micGainDecibels = micGainDecibels
            return applyLevels(&$0)
        }
    }

    public var volumePercent: Int { levels.withLock { $0.volumePercent } }
}

/// What the engine needs of a capture or playback loop.
protocol AudioLoop: AnyObject, Sendable {
    func run()
    var isFinished: Bool { get }
}

extension CaptureLoop: AudioLoop {}
extension PlaybackLoop: AudioLoop {}
