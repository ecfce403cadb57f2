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
    /// Puts the sweep on the speaker through the cue ring's one producer (the controller).
    private let play: @Sendable ([Int16]) async -> Void
    private let requests: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    /// Called when a request is done with (the speaker's curve may be recorded then).
    private let done: @Sendable () -> Void

    init(engine: AudioEngine, marginMilliseconds: Int, logger: Logger, done: @escaping @Sendable () -> Void = {},
         play: @escaping @Sendable ([Int16]) async -> Void) {
        self.engine = engine
        self.done = done
        self.play = play
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
                // Up to three tries, once both directions are moving: devices that start
                // slowly (a sound server) may swallow the first sweep.
                for attempt in 1...3 {
                    await waitForAudioFlowing()
                    if Task.isCancelled { return }
                    if await probe(lastAttempt: attempt == 3) { break }
                    try? await Task.sleep(for: .seconds(1))
                }
                done()
            }
        }
    }

    /// Until both audio threads have moved frames for 300 ms (at most 5 s).
    private func waitForAudioFlowing() async {
        var flowing = 0
        var last = (engine.captureCounters.snapshot().frames, engine.playbackCounters.snapshot().frames)
        for _ in 0..<50 where flowing < 3 {
            try? await Task.sleep(for: .milliseconds(100))
            let now = (engine.captureCounters.snapshot().frames, engine.playbackCounters.snapshot().frames)
            flowing = now.0 > last.0 && now.1 > last.1 ? flowing + 1 : 0
            last = now
        }
    }

    /// True when an echo was found and the reference moved.
    private func probe(lastAttempt: Bool) async -> Bool {
        let sweep = EchoDelayEstimator.sweep(rate: AudioFormat.wireRate)
        let before = engine.echoReference.probeCorrectionMilliseconds
        guard let estimate = await engine.probeEchoDelay(probe: sweep, margin: marginSamples, play: play) else {
            if lastAttempt {
                logger.warning("echo-delay probe: no clear echo of the sweep in 3 tries (speaker muted or at volume 0, mic away from it?); keeping the reference where the ALSA delays put it")
            }
            return false
        }
        let lag = Double(estimate.lagSamples) * 1000 / Double(AudioFormat.wireRate)
        let after = engine.echoReference.probeCorrectionMilliseconds
        logger.notice("echo-delay probe: the echo followed the reference by \(lag.formatted(decimals: 1)) ms (clarity \(Int(estimate.clarity))); reference lead corrected by \((after - before).formatted(decimals: 1)) ms to keep it \(marginSamples * 1000 / AudioFormat.wireRate) ms ahead")
        return true
    }
}
