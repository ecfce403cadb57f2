import Synchronization

/// The audio threads' doorbell to the control plane, as PipeWire's data loop signals its main
/// loop: an eventfd the real-time threads write to (one write(2) — no allocation, no lock, no
/// logging) when there is something for the control plane, and one plain thread blocks on.
/// No polling: an idle device wakes the control plane only as often as it asked to be woken.
///
/// What "something" is, the control plane sets (like ALSA's avail_min): how many captured
/// samples are worth a wake-up (one frame while a turn streams; the pre-roll's worth when
/// idle), and whether it waits for the speaker to play out.
public final class AudioDoorbell: Sendable {
    private let bell = EventFD()
    /// Captured samples waiting in the ring that make the capture thread ring; set by the
    /// control plane, read by the capture thread.
    private let captureThreshold = Atomic<Int>(AudioFormat.frameSamples)
    /// The control plane waits for the playback ring to run dry; the playback thread clears it as it rings.
    private let drainWanted = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)
    /// Wakes a dozing capture thread when the control plane wants every frame again.
    let captureWake = EventFD()

    public init() {}

    // MARK: the audio threads

    /// The capture thread, after each period: `available` samples wait in its ring.
    @inline(__always)
    public func captured(available: Int) {
        if available >= captureThreshold.load(ordering: .relaxed) { ring() }
    }

    /// The playback thread, after each period: `remaining` samples wait in its ring.
    @inline(__always)
    public func played(remaining: Int) {
        if remaining == 0 && drainWanted.load(ordering: .relaxed)
            && drainWanted.exchange(false, ordering: .relaxed) { ring() }
    }

    @inline(__always)
    public func ring() { bell.signal() }

    /// The control plane wants each frame as it comes (a turn streams): the capture thread
    /// must not doze.
    @inline(__always)
    var wantsEveryFrame: Bool { captureThreshold.load(ordering: .relaxed) <= AudioFormat.frameSamples }

    // MARK: the control plane

    /// What is worth a wake-up from here on.
    public func want(capturedSamples: Int, drained: Bool) {
        let threshold = max(1, capturedSamples)
        let before = captureThreshold.exchange(threshold, ordering: .relaxed)
        drainWanted.store(drained, ordering: .relaxed)
        if threshold < before { captureWake.signal() }  // a dozing capture thread catches up now
    }

    /// One wake-up per batch of rings, read by a thread of its own (blocking in read(2)),
    /// until `close()`.
    public func wakeups() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        _ = RealtimeThread.start(name: "audio-doorbell", priority: 0) { [self] in
            while !closed.load(ordering: .acquiring) && bell.wait() { continuation.yield() }
            continuation.finish()
        }
        return stream
    }

    /// Ends `wakeups`.
    public func close() {
        closed.store(true, ordering: .releasing)
        ring()
    }
}
