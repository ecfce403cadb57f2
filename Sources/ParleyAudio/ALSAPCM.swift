import CALSA
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One opened ALSA PCM in interleaved S16_LE. Configured at open; the read/write calls
/// are what the audio threads use and they do not allocate.
final class ALSAPCM {
    enum Direction { case capture, playback }

    let device: String
    let direction: Direction
    let channels: Int
    let rate: Int
    private(set) var periodFrames: Int
    private(set) var bufferFrames: Int
    private var handle: OpaquePointer?
    /// For `position()`: allocated once, filled by snd_pcm_status without allocating.
    private var status: OpaquePointer?
    /// For `wake(afterPeriods:)`: the software parameters as applied, kept to change avail_min.
    private var software: OpaquePointer?
    /// For `wait(orUntil:)`: the PCM's poll descriptors, then the wake-up's.
    private var pollFDs = UnsafeMutablePointer<pollfd>.allocate(capacity: 1)
    private var pcmPollCount = 0

    init(device: String, direction: Direction, rate: Int, channels: Int, periodFrames: Int, bufferPeriods: Int)
        throws(AudioError)
    {
        self.device = device
        self.direction = direction
        self.rate = rate
        self.channels = channels
        self.periodFrames = periodFrames
        self.bufferFrames = periodFrames * bufferPeriods
        var pcm: OpaquePointer?
        let stream = direction == .capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK
        let err = snd_pcm_open(&pcm, device, stream, 0)
        guard err == 0, let pcm else { throw AudioError(.open, device: device, alsa: err, "cannot open") }
        handle = pcm
        do throws(AudioError) {
            try configure(pcm)
        } catch {
            snd_pcm_close(pcm)
            handle = nil
            throw error
        }
    }

    func close() {
        if let handle { snd_pcm_close(handle) }
        handle = nil
        if let status { snd_pcm_status_free(status) }
        status = nil
        if let software { snd_pcm_sw_params_free(software) }
        software = nil
    }

    deinit {
        close()
        pollFDs.deallocate()
    }

    private func configure(_ pcm: OpaquePointer) throws(AudioError) {
        var hw: OpaquePointer?
        guard snd_pcm_hw_params_malloc(&hw) == 0, let hw else {
            throw AudioError(.configure, device: device, "out of memory")
        }
        defer { snd_pcm_hw_params_free(hw) }
        func check(_ err: Int32, _ what: String) throws(AudioError) {
            if err < 0 { throw AudioError(.configure, device: device, alsa: err, what) }
        }
        try check(snd_pcm_hw_params_any(pcm, hw), "no configurations")
        try check(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED), "interleaved access")
        try check(snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE), "S16_LE format")
        try check(snd_pcm_hw_params_set_channels(pcm, hw, UInt32(channels)), "\(channels) channels")
        var exactRate = UInt32(rate)
        try check(snd_pcm_hw_params_set_rate(pcm, hw, exactRate, 0),
                  "rate \(rate) Hz (use the device's native rate, or a plughw: device)")
        var period = snd_pcm_uframes_t(periodFrames)
        var dir: Int32 = 0
        try check(snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir), "period size")
        var buffer = snd_pcm_uframes_t(bufferFrames)
        try check(snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer), "buffer size")
        try check(snd_pcm_hw_params(pcm, hw), "applying hardware parameters")
        snd_pcm_hw_params_get_rate(hw, &exactRate, &dir)
        periodFrames = Int(period)
        bufferFrames = Int(buffer)

        var sw: OpaquePointer?
        guard snd_pcm_sw_params_malloc(&sw) == 0, let sw else {
            throw AudioError(.configure, device: device, "out of memory")
        }
        software = sw  // freed by close()
        try check(snd_pcm_sw_params_current(pcm, sw), "software parameters")
        try check(snd_pcm_sw_params_set_avail_min(pcm, sw, period), "avail_min")
        // Playback starts once one period is queued; capture is started explicitly
        // (a capture start threshold of the buffer size would never trigger).
        let threshold: snd_pcm_uframes_t = direction == .playback ? period : buffer * 2
        try check(snd_pcm_sw_params_set_start_threshold(pcm, sw, threshold), "start threshold")
        // Timestamps of the hardware pointer on the monotonic clock, for the drift estimate
        // (a plugin without them reads 0 and `position()` falls back to the current time).
        _ = snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE)
        _ = snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC)
        try check(snd_pcm_sw_params(pcm, sw), "applying software parameters")
        guard snd_pcm_status_malloc(&status) == 0 else { throw AudioError(.configure, device: device, "out of memory") }
        pcmPollCount = max(0, Int(snd_pcm_poll_descriptors_count(pcm)))
        pollFDs.deallocate()
        pollFDs = .allocate(capacity: pcmPollCount + 1)
        pollFDs.initialize(repeating: pollfd(), count: pcmPollCount + 1)
        try check(snd_pcm_poll_descriptors(pcm, pollFDs, UInt32(pcmPollCount)), "poll descriptors")
        try check(snd_pcm_prepare(pcm), "prepare")
    }

    func start() throws(AudioError) {
        guard let handle else { return }
        let err = snd_pcm_start(handle)
        if err < 0 { throw AudioError(.start, device: device, alsa: err, "cannot start") }
    }

    enum Wait { case ready, woken, timedOut }

    /// Waits until the device takes a period (avail_min) or `wake` is signalled, as
    /// PipeWire's data loop polls the device and its event fds together. `ready` also when
    /// the device reports an error: the write then returns it for recovery.
    @inline(__always) func wait(orUntil wake: EventFD, timeoutMilliseconds: Int32) -> Wait {
        guard let handle else { return .ready }
        pollFDs[pcmPollCount] = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        for i in 0..<pcmPollCount { pollFDs[i].revents = 0 }
        let n = poll(pollFDs, nfds_t(pcmPollCount + 1), timeoutMilliseconds)
        if n < 0 { return errno == EINTR ? .timedOut : .ready }
        if n == 0 { return .timedOut }
        if pollFDs[pcmPollCount].revents & Int16(POLLIN) != 0 {
            wake.drain()
            return .woken
        }
        var events: UInt16 = 0
        guard snd_pcm_poll_descriptors_revents(handle, pollFDs, UInt32(pcmPollCount), &events) == 0 else { return .ready }
        return events & UInt16(POLLOUT | POLLIN | POLLERR) != 0 ? .ready : .timedOut
    }

    /// Whole periods the device can take (playback) or has ready (capture) now; 1 on an
    /// error, so the read or write that follows returns it for recovery.
    @inline(__always) func availablePeriods() -> Int {
        guard let handle else { return 1 }
        let frames = Int(snd_pcm_avail_update(handle))
        return frames < 0 ? 1 : frames / periodFrames
    }

    /// Makes `wait` return once `periods` periods are ready (avail_min): an idle stream wakes
    /// its thread less often. A syscall; no allocation.
    @inline(__always) func wake(afterPeriods periods: Int) {
        guard let handle, let software else { return }
        _ = snd_pcm_sw_params_set_avail_min(handle, software, snd_pcm_uframes_t(periods * periodFrames))
        _ = snd_pcm_sw_params(handle, software)
    }

    /// Periods handled per wake-up while the device dozes: 30 ms, or what the buffer holds
    /// with a period to spare.
    var dozePeriods: Int { max(1, min(3, bufferFrames / periodFrames - 1)) }

    /// An audio thread's wait for its next `periods`: the pacer's deadline (plugins without a
    /// clock) or the device's avail_min, cut short by `wake`. Returns the periods due now —
    /// when woken, those already there (perhaps none); when the device timed out, none.
    func periodsDue(_ periods: Int, pacer: inout Pacer, paced: Bool, orUntil wake: EventFD) -> Int {
        if paced { return pacer.wait(periods: periods, orUntil: wake) }
        switch wait(orUntil: wake, timeoutMilliseconds: Int32((periods + 3) * periodNanoseconds / 1_000_000)) {
        case .ready: return max(1, availablePeriods())
        case .woken: return availablePeriods()
        case .timedOut: return 0
        }
    }

    /// Frames read, or a negative ALSA error.
    @inline(__always) func read(_ buffer: UnsafeMutablePointer<Int16>, frames: Int) -> Int {
        guard let handle else { return -Int(EBADFD) }
        return Int(snd_pcm_readi(handle, buffer, snd_pcm_uframes_t(frames)))
    }

    /// Frames written, or a negative ALSA error.
    @inline(__always) func write(_ buffer: UnsafePointer<Int16>, frames: Int) -> Int {
        guard let handle else { return -Int(EBADFD) }
        return Int(snd_pcm_writei(handle, buffer, snd_pcm_uframes_t(frames)))
    }

    /// Frames between the application and the converter (snd_pcm_delay): how long until a
    /// frame written now is heard, or how long ago the newest readable frame was captured.
    @inline(__always) func delay() -> Int {
        guard let handle else { return 0 }
        var frames: snd_pcm_sframes_t = 0
        return snd_pcm_delay(handle, &frames) == 0 ? max(0, Int(frames)) : 0
    }

    /// The hardware pointer and when it was last updated (snd_pcm_status): frames the
    /// application may read (capture) or has queued (playback) as of `nanoseconds`
    /// (CLOCK_MONOTONIC). Nil when the status cannot be read.
    @inline(__always) func position() -> (frames: Int, nanoseconds: Int)? {
        guard let handle, let status, snd_pcm_status(handle, status) == 0 else { return nil }
        var stamp = snd_htimestamp_t()
        snd_pcm_status_get_htstamp(status, &stamp)
        let nanoseconds = stamp.tv_sec == 0 && stamp.tv_nsec == 0
            ? monotonicNanoseconds() : stamp.tv_sec * 1_000_000_000 + stamp.tv_nsec
        let frames = direction == .capture ? Int(snd_pcm_status_get_avail(status)) : Int(snd_pcm_status_get_delay(status))
        return (frames, nanoseconds)
    }

    /// Takes back up to `frames` written but not yet played (snd_pcm_rewind), leaving at least
    /// `keep` queued so the device does not run dry; returns how many were taken back.
    /// Plugins that cannot rewind (dmix, some rate converters) take back nothing.
    @inline(__always) func rewind(upTo frames: Int, keep: Int) -> Int {
        guard let handle, frames > 0 else { return 0 }
        let possible = Int(snd_pcm_rewindable(handle)) - keep
        guard possible > 0 else { return 0 }
        let done = snd_pcm_rewind(handle, snd_pcm_uframes_t(min(frames, possible)))
        return max(0, Int(done))
    }

    /// One period's duration, for pacing and for parking a thread.
    var periodNanoseconds: Int { periodFrames * 1_000_000_000 / rate }

    /// What both audio threads do with a failed read or write: recover and count an xrun,
    /// or count the error and mark the device lost (the thread then parks). Returns
    /// whether the stream can go on.
    @inline(__always) func recover(_ err: Int, counters: AudioCounters, controls: AudioControls) -> Bool {
        counters.lastError.store(Int32(err), ordering: .relaxed)
        if recover(err) == 0 {
            counters.xruns.add(1, ordering: .relaxed)
            return true
        }
        counters.errors.add(1, ordering: .relaxed)
        controls.deviceLost.store(true, ordering: .releasing)
        return false
    }

    /// snd_pcm_recover for xruns and suspends; returns 0 when the stream can go on.
    @inline(__always) func recover(_ err: Int) -> Int32 {
        guard let handle else { return -EBADFD }
        let rc = snd_pcm_recover(handle, Int32(err), 1)
        if rc == 0 && direction == .capture { _ = snd_pcm_start(handle) }
        return rc
    }
}
