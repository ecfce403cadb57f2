import Logging
import ParleyAudio
import ParleyDSP
import ServiceLifecycle

/// `dsp.aec_delay_probe`: measures the echo delay with a short sweep at start and after
/// each device reopen, for boards whose converter delays ALSA does not report (the
/// canceller cannot cancel an echo that reaches it before its reference). The engine
/// then moves the reference to lead the echo by `dsp.aec_probe_margin_ms`.
final class EchoDelayProbe: Service, Sendable {
    private let engine: AudioEngine
    private let marginSamples: Int
    private let logger: Logger
    private let requests: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init(engine: AudioEngine, marginMilliseconds: Int, logger: Logger) {
        self.engine = engine
        marginSamples = marginMilliseconds * AudioFormat.wireRate / 1000
        self.logger = logger
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield()  // once at start
    }

    /// Probe again (the devices were reopened: the echo path may have changed).
    func request() { continuation.yield() }

    func run() async {
        await cancelWhenGracefulShutdown { [self] in
            for await _ in requests {
                try? await Task.sleep(for: .milliseconds(300))  // let playback settle after a (re)start
                if Task.isCancelled { return }
                await probe()
            }
        }
    }

    private func probe() async {
        let sweep = EchoDelayEstimator.sweep(rate: AudioFormat.wireRate)
        let before = engine.echoReference.probeCorrectionMilliseconds
        guard let estimate = await engine.probeEchoDelay(probe: sweep, margin: marginSamples) else {
            logger.warning("echo-delay probe: no clear echo of the sweep (speaker muted or at volume 0, mic away from it?); keeping the reference where the ALSA delays put it")
            return
        }
        let lag = Double(estimate.lagSamples) * 1000 / Double(AudioFormat.wireRate)
        let after = engine.echoReference.probeCorrectionMilliseconds
        logger.notice("echo-delay probe: the echo followed the reference by \(lag.formatted(decimals: 1)) ms (clarity \(Int(estimate.clarity))); reference lead corrected by \((after - before).formatted(decimals: 1)) ms to keep it \(marginSamples * 1000 / AudioFormat.wireRate) ms ahead")
    }
}
