import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where a device's hardware pointer was, and when (CLOCK_MONOTONIC): written by an audio
/// thread after every period, read by the control plane to compare the two devices'
/// clocks. A sequence lock: the writer never waits; a reader retries a torn read.
public final class StreamClock: Sendable {
    private let sequence = Atomic<UInt64>(0)
    private let frames = Atomic<Int>(0)
    private let nanoseconds = Atomic<Int>(0)
    /// Bumped when the position jumps (xrun, reopen): estimates must start over.
    private let epoch = Atomic<Int>(0)

    public init() {}

    public struct Reading: Sendable, Equatable {
        /// Frames the hardware has played or captured, at the device rate.
        public var frames: Int
        public var nanoseconds: Int
        public var epoch: Int

        public init(frames: Int, nanoseconds: Int, epoch: Int) {
            self.frames = frames
            self.nanoseconds = nanoseconds
            self.epoch = epoch
        }
    }

    /// The position at a time ALSA stamped (the hardware pointer's last update).
    @inline(__always) func publish(frames value: Int, at time: Int) {
        sequence.add(1, ordering: .sequentiallyConsistent)  // odd: writing
        frames.store(value, ordering: .sequentiallyConsistent)
        nanoseconds.store(time, ordering: .sequentiallyConsistent)
        sequence.add(1, ordering: .sequentiallyConsistent)  // even: done
    }

    /// The position restarts (xrun, reopen).
    @inline(__always) func discontinuity() { epoch.add(1, ordering: .relaxed) }

    public func read() -> Reading {
        while true {
            let before = sequence.load(ordering: .sequentiallyConsistent)
            let reading = Reading(frames: frames.load(ordering: .sequentiallyConsistent),
                                  nanoseconds: nanoseconds.load(ordering: .sequentiallyConsistent),
                                  epoch: epoch.load(ordering: .sequentiallyConsistent))
            if before & 1 == 0 && sequence.load(ordering: .sequentiallyConsistent) == before { return reading }
        }
    }
}

/// The rate difference between the capture and the playback clock, in parts per million
/// (positive: the microphone runs fast). One card's capture and playback share a crystal
/// and read 0; a USB mic with a separate DAC drifts, and the echo canceller, which has no
/// drift tracking, loses its grip. Pure: a least-squares line through each device's
/// positions over time since the last discontinuity, so period jitter averages out.
/// A position more than `jumpSeconds` off its line is a discontinuity too, though no xrun
/// was counted (a device that stalled, a VM starved of CPU: seen in the HIL VM, where one
/// 40 ms jump read as −4128 ppm and then −1920 ppm, which the reference then followed).
public struct ClockDriftEstimator: Sendable {
    private let captureRate: Double
    private let playbackRate: Double
    private var anchor: (capture: StreamClock.Reading, playback: StreamClock.Reading)?
    private var capture = LineFit()
    private var playback = LineFit()
    /// Shorter windows are dominated by period jitter.
    public let minimumWindowSeconds: Double
    /// Off the line by more than this (25 ms, two and a half periods: beyond any reading's
    /// jitter, while drift moves a position 0.1 ms a second at 100 ppm): a jump, start over.
    public let jumpSeconds = 0.025

    public init(captureRate: Int, playbackRate: Int, minimumWindowSeconds: Double = 10) {
        self.captureRate = Double(captureRate)
        self.playbackRate = Double(playbackRate)
        self.minimumWindowSeconds = minimumWindowSeconds
    }

    public mutating func add(capture c: StreamClock.Reading, playback p: StreamClock.Reading) {
        let continues = anchor.map { a in
            a.capture.epoch == c.epoch && a.playback.epoch == p.epoch
                && !capture.isOff(by: jumpSeconds * captureRate, x: seconds(c, a.capture), y: frames(c, a.capture))
                && !playback.isOff(by: jumpSeconds * playbackRate, x: seconds(p, a.playback), y: frames(p, a.playback))
        } ?? false
        if !continues {
            anchor = (c, p)  // first reading, or a position jumped: start over
            capture = LineFit()
            playback = LineFit()
        }
        let a = anchor!
        capture.add(x: seconds(c, a.capture), y: frames(c, a.capture))
        playback.add(x: seconds(p, a.playback), y: frames(p, a.playback))
    }

    private func seconds(_ r: StreamClock.Reading, _ anchor: StreamClock.Reading) -> Double {
        Double(r.nanoseconds - anchor.nanoseconds) / 1e9
    }

    private func frames(_ r: StreamClock.Reading, _ anchor: StreamClock.Reading) -> Double {
        Double(r.frames - anchor.frames)
    }

    /// Nil until the window is long enough and the fit sure enough (`maximumUncertaintyPPM`).
    public var driftPPM: Double? {
        guard capture.span >= minimumWindowSeconds, playback.span >= minimumWindowSeconds,
              let c = capture.slope, let p = playback.slope, p > 0,
              let u = uncertaintyPPM, u <= maximumUncertaintyPPM else { return nil }
        return (c / captureRate) / (p / playbackRate) * 1e6 - 1e6
    }

    /// Readings that jitter by more than a few frames (a driver, or snd-aloop under a VM,
    /// that moves its position a timer tick at a time: ±2 ms) fit a line whose slope is
    /// still tens of ppm off after 10 s — +85 and +40 ppm on the HIL VM's one-clock card —
    /// and the reference, following it, moves the echo path under the canceller. So the
    /// estimate waits until the slopes' standard error is under this; clean readings (a
    /// few frames of jitter) get there within the minimum window.
    public let maximumUncertaintyPPM = 10.0

    /// The drift's standard error from the two fits' residuals (ppm); nil before a fit.
    public var uncertaintyPPM: Double? {
        guard let c = capture.slope, let p = playback.slope, let sc = capture.slopeError, let sp = playback.slopeError,
              c > 0, p > 0 else { return nil }
        return ((sc / c) * (sc / c) + (sp / p) * (sp / p)).squareRoot() * 1e6
    }
}

/// Online least-squares fit of y = a + b·x (Welford-style, numerically stable).
struct LineFit: Sendable {
    private var count = 0.0
    private var meanX = 0.0
    private var meanY = 0.0
    private var comomentXY = 0.0
    private var momentXX = 0.0
    private var momentYY = 0.0
    private(set) var span = 0.0

    mutating func add(x: Double, y: Double) {
        count += 1
        let dx = x - meanX, dy = y - meanY
        meanX += dx / count
        meanY += dy / count
        comomentXY += dx * (y - meanY)
        momentXX += dx * (x - meanX)
        momentYY += dy * (y - meanY)
        span = max(span, x)
    }

    var slope: Double? { momentXX > 0 ? comomentXY / momentXX : nil }

    /// The slope's standard error, from the residuals about the line (nil under 3 points).
    var slopeError: Double? {
        guard count >= 3, momentXX > 0 else { return nil }
        let residual = max(0, momentYY - comomentXY * comomentXY / momentXX)
        return (residual / (count - 2) / momentXX).squareRoot()
    }

    /// Whether (x, y) lies further than `limit` from the line so far (false until there is
    /// a line through three points).
    func isOff(by limit: Double, x: Double, y: Double) -> Bool {
        guard count >= 3, let b = slope else { return false }
        return abs(y - (meanY + b * (x - meanX))) > limit
    }
}
