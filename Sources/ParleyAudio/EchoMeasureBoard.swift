import ParleyDSP
import Synchronization

/// Where the capture thread leaves the live echo measures (`EchoHealthMeter`) for the
/// control plane: the fields, then a count released after them. A reader that sees the
/// count change under it reads again (measures end seconds apart). Lock-free: the capture
/// thread only stores.
final class EchoMeasureBoard: Sendable {
    private let count = Atomic<Int>(0)
    private let erleCentibels = Atomic<Int>(0)
    private let farEndOnlyMilliseconds = Atomic<Int>(0)
    private let micClippedPermille = Atomic<Int>(0)
    /// Int.min: not measured.
    private let loudLessSoftCentibels = Atomic<Int>(Int.min)

    /// Capture thread.
    func publish(_ m: EchoHealthMeter.Measure) {
        erleCentibels.store(Int((m.erleDecibels * 100).rounded()), ordering: .relaxed)
        farEndOnlyMilliseconds.store(Int((m.farEndOnlySeconds * 1000).rounded()), ordering: .relaxed)
        micClippedPermille.store(Int((m.micClippedFraction * 1000).rounded()), ordering: .relaxed)
        loudLessSoftCentibels.store(m.loudLessSoftDecibels.map { Int(($0 * 100).rounded()) } ?? Int.min, ordering: .relaxed)
        count.wrappingAdd(1, ordering: .releasing)
    }

    /// How many measures ended, and the last.
    func read() -> (measures: Int, last: EchoHealthMeter.Measure?) {
        while true {
            let before = count.load(ordering: .acquiring)
            guard before > 0 else { return (0, nil) }
            let loudLessSoft = loudLessSoftCentibels.load(ordering: .relaxed)
            let measure = EchoHealthMeter.Measure(
                erleDecibels: Double(erleCentibels.load(ordering: .relaxed)) / 100,
                farEndOnlySeconds: Double(farEndOnlyMilliseconds.load(ordering: .relaxed)) / 1000,
                micClippedFraction: Double(micClippedPermille.load(ordering: .relaxed)) / 1000,
                loudLessSoftDecibels: loudLessSoft == Int.min ? nil : Double(loudLessSoft) / 100)
            if count.load(ordering: .acquiring) == before { return (before, measure) }
        }
    }
}
