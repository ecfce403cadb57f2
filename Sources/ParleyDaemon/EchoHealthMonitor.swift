import Logging
import ParleyAudio
import ParleyDSP
import ServiceLifecycle
import Synchronization

/// Reads the capture chain's live echo measures once a second (one ends per answer, or per
/// 8 s of far-end-only audio), logs each at debug, and hands them to `EchoHealthWatch`,
/// whose one warning (with the likely cause) and recovery notice it logs; an answer with
/// nothing cancelled (the `misaligned` signature) calls `nothingCancelled` (the speech
/// aligner looks again), one poorly cancelled (under the warning threshold) `poorlyCancelled`
/// (the speaker's curve is looked for again). Status and metrics read `snapshot`.
public final class EchoHealthMonitor: Service, Sendable {
    public struct Snapshot: Sendable {
        public var measures: Int
        public var last: EchoHealthMeter.Measure?
        /// Warned and not yet recovered: the cause named in the warning.
        public var warning: EchoHealthWatch.Cause?
        /// The limit the echo reference is bent by (`SpeakerCurve`); nil: straight.
        public var speakerLimit: Int?
    }

    private let engine: AudioEngine
    private let logger: Logger
    private let nothingCancelled: @Sendable () -> Void
    private let poorlyCancelled: @Sendable () -> Void
    private let warningDecibels: Int
    private let state: Mutex<(watch: EchoHealthWatch, seen: Int, warning: EchoHealthWatch.Cause?)>

    public init(engine: AudioEngine, warningDecibels: Int, logger: Logger,
                nothingCancelled: @escaping @Sendable () -> Void = {}, poorlyCancelled: @escaping @Sendable () -> Void = {}) {
        self.engine = engine
        self.logger = logger
        self.nothingCancelled = nothingCancelled
        self.poorlyCancelled = poorlyCancelled
        self.warningDecibels = warningDecibels
        state = Mutex((EchoHealthWatch(thresholdDecibels: Double(warningDecibels)), 0, nil))
    }

    public var snapshot: Snapshot {
        let health = engine.echoHealth
        return Snapshot(measures: health.measures, last: health.last, warning: state.withLock { $0.warning },
                        speakerLimit: engine.speakerLimit)
    }

    public func run() async {
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                check()
            }
        }
    }

    /// Takes in the newest measure, if one ended since the last look.
    func check() {
        let health = engine.echoHealth
        guard let measure = health.last else { return }
        let (new, verdict) = state.withLock { s -> (Bool, EchoHealthWatch.Verdict?) in
            guard health.measures != s.seen else { return (false, nil) }
            s.seen = health.measures
            let verdict = s.watch.add(measure)
            switch verdict {
            case .warning: s.warning = EchoHealthWatch.cause(measure)
            case .recovered: s.warning = nil
            case nil: break
            }
            return (true, verdict)
        }
        guard new else { return }
        logger.debug("echo: \(tenths(measure.erleDecibels)) dB ERLE over \(tenths(measure.farEndOnlySeconds)) s of far end only")
        if EchoHealthWatch.cause(measure) == .misaligned {
            nothingCancelled()
        } else if measure.erleDecibels < Double(warningDecibels) {
            poorlyCancelled()
        }
        switch verdict {
        case .warning(let text): logger.warning("\(text)")
        case .recovered(let text): logger.notice("\(text)")
        case nil: break
        }
    }
}

private func tenths(_ x: Double) -> Double { (x * 10).rounded() / 10 }
