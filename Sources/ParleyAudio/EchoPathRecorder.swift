import ParleyDSP
import Synchronization

/// Records, once on request, what the echo canceller sees — the raw microphone and the
/// reference it was given, frame by frame — so the control plane can measure the echo
/// delay (`EchoDelayEstimator`). Buffers are allocated up front; the capture thread only
/// copies into them while armed and hands them over with one release store.
public final class EchoPathRecorder: @unchecked Sendable {
    private enum Phase: Int { case idle, armed, full }
    public let capacity: Int
    private let mic: UnsafeMutableBufferPointer<Int16>
    private let reference: UnsafeMutableBufferPointer<Int16>
    /// Written by the capture thread while armed; by the control plane otherwise.
    private var count = 0
    /// Frames of reference audio in a row still to pass before recording starts.
    private var waitFrames = 0
    private var waitFramesSet = 0
    private let phase = Atomic<Int>(Phase.idle.rawValue)

    public init(samples: Int) {
        capacity = samples
        mic = .allocate(capacity: samples)
        mic.initialize(repeating: 0)
        reference = .allocate(capacity: samples)
        reference.initialize(repeating: 0)
    }

    deinit {
        mic.deallocate()
        reference.deallocate()
    }

    /// Control plane: start a recording (discarding any finished one) — at once, or once
    /// the reference has carried audio for `afterReferenceFrames` frames in a row (the far
    /// end talking: something to find the echo of).
    public func arm(afterReferenceFrames: Int = 0) {
        guard phase.load(ordering: .acquiring) != Phase.armed.rawValue else { return }
        count = 0
        waitFramesSet = afterReferenceFrames
        waitFrames = afterReferenceFrames
        phase.store(Phase.armed.rawValue, ordering: .releasing)
    }

    /// Control plane: give up a recording not yet full.
    public func disarm() {
        _ = phase.compareExchange(expected: Phase.armed.rawValue, desired: Phase.idle.rawValue, ordering: .acquiringAndReleasing)
    }

    /// Control plane: the recording once full, else nil.
    public func take() -> (mic: [Int16], reference: [Int16])? {
        guard phase.load(ordering: .acquiring) == Phase.full.rawValue else { return nil }
        let result = (Array(mic), Array(reference))
        phase.store(Phase.idle.rawValue, ordering: .releasing)
        return result
    }

    /// Capture thread: one frame of raw mic and its reference, when armed.
    @inline(__always) func record(mic frame: UnsafePointer<Int16>, reference ref: UnsafePointer<Int16>, count n: Int) {
        guard phase.load(ordering: .acquiring) == Phase.armed.rawValue else { return }
        if waitFrames > 0 {
            var any: Int16 = 0
            for i in 0..<n { any |= ref[i] }
            waitFrames = any == 0 ? waitFramesSet : waitFrames - 1
            return
        }
        let take = min(n, capacity - count)
        (mic.baseAddress! + count).update(from: frame, count: take)
        (reference.baseAddress! + count).update(from: ref, count: take)
        count += take
        if count == capacity { phase.store(Phase.full.rawValue, ordering: .releasing) }
    }
}

extension AudioControls {
    /// Moves the reference so it leads the echo found in a recording by `margin` samples
    /// (echoes up to 150 ms early or 400 ms late are looked for).
    /// A lag within `tolerance` of the margin is left alone (each move restarts the canceller).
    func correctEchoDelay(mic: [Int16], reference: [Int16], margin: Int, tolerance: Int = 0) -> EchoDelayEstimator.Estimate? {
        let rate = AudioFormat.wireRate
        guard let estimate = EchoDelayEstimator.estimate(mic: mic, reference: reference,
                                                         maximumLead: rate * 150 / 1000, maximumLag: rate * 400 / 1000)
        else { return nil }
        // A smaller lead hands the canceller newer reference: the echo lags it by more.
        if abs(estimate.lagSamples - margin) > tolerance {
            echoDelayCorrection.add(estimate.lagSamples - margin, ordering: .relaxed)
        }
        return estimate
    }
}
