import Logging
import ParleyAudio
import ParleyDSP
import ServiceLifecycle
import Synchronization

/// Compares the capture and playback hardware clocks four times a second (ALSA's hardware
/// pointer timestamps; more readings in the least-squares line make a finer estimate sooner:
/// within 1 % of the drift 10 s in, in the echo rig) and hands the drift to the engine, whose capture thread resamples
/// the echo reference by it: speexdsp's canceller assumes one clock and loses tens of dB at
/// 10–100 ppm. Logs the first estimate, a warning once per excursion beyond
/// `dsp.drift_warning_ppm` (a device that far off is suspect) and a notice when it settles;
/// the latest estimate is kept for status and metrics.
public final class ClockDriftMonitor: Service, Sendable {
    private let engine: AudioEngine
    private let rate: Int
    private let warningPPM: Double
    private let logger: Logger
    private let latest = Mutex<Double?>(nil)

    public init(engine: AudioEngine, rate: Int, warningPPM: Int, logger: Logger) {
        self.engine = engine
        self.rate = rate
        self.warningPPM = Double(warningPPM)
        self.logger = logger
    }

    /// Parts per million, positive when the microphone runs fast; nil until measured.
    public var driftPPM: Double? { latest.withLock { $0 } }

    public func run() async {
        await cancelWhenGracefulShutdown { [self] in
            var estimator = ClockDriftEstimator(captureRate: rate, playbackRate: rate)
            var warned = false
            var reported = false
            var implausible = false
            while !Task.isCancelled {
                do { try await Task.sleep(for: .milliseconds(250)) } catch { return }
                estimator.add(capture: engine.captureClock.read(), playback: engine.playbackClock.read())
                guard let ppm = estimator.driftPPM else { continue }
                latest.withLock { $0 = ppm }
                let text = ppm.formatted(decimals: 1)
                // Beyond what the reference resampler follows, the positions are not two
                // crystals (a sound-server plugin's, say): following them would slide the
                // reference away from the echo. One line; the reference then runs unresampled.
                guard abs(ppm) <= DriftResampler.maximumPPM else {
                    engine.setClockDrift(partsPerMillion: 0)
                    if !implausible {
                        implausible = true
                        logger.warning("capture and playback positions drift apart by \(text) ppm, more than any clock could: the devices do not report hardware positions (a sound server's plugin?); the echo reference is not resampled")
                    }
                    continue
                }
                implausible = false
                engine.setClockDrift(partsPerMillion: ppm)
                if abs(ppm) > warningPPM && !warned {
                    warned = true
                    logger.warning("capture and playback clocks drift apart by \(text) ppm: compensated up to ±2000 ppm, but a clock that far off suggests a faulty or misconfigured device")
                } else if abs(ppm) <= warningPPM / 2 && warned {
                    warned = false
                    logger.notice("capture and playback clocks agree again (\(text) ppm)")
                } else if !reported {
                    reported = true
                    let sure = (estimator.uncertaintyPPM ?? 0).formatted(decimals: 1).dropFirst()
                    logger.info("capture/playback clock drift \(text) ppm (±\(sure)); the echo reference follows it")
                }
            }
        }
    }
}

extension Double {
    func formatted(decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let value = (self * scale).rounded() / scale
        return value >= 0 ? "+\(value)" : "\(value)"
    }
}
