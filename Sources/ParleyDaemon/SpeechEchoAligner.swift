import Logging
import ParleyAudio
import ParleyDSP
import ServiceLifecycle

/// `dsp.aec_align_on_speech`: finds where the echo sits behind its reference from the far
/// end's own speech — the first answer after start and after each device reopen, and again
/// after an answer the live echo measure found nothing cancelled in — and moves the reference
/// so it leads the echo by `dsp.aec_probe_margin_ms`. The canceller must learn zeros for
/// every tap before the echo, and those taps cost it: in the echo rig the same room cancels
/// 42.5 dB with the echo 40 ms behind its reference and 45 dB after this; an echo that came
/// early, which nothing could cancel, 48 dB; a 16 kHz card 32 → 48.5 dB (docs/AUDIO.md).
/// Silent, unlike the probe's sweep; with `dsp.aec_delay_probe` the sweep does this job.
final class SpeechEchoAligner: Service, Sendable {
    private let engine: AudioEngine
    private let marginSamples: Int
    private let logger: Logger
    private let requests: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    /// Called when a request is done with (the speaker's curve may be recorded then).
    private let done: @Sendable () -> Void
    /// Answers tried per request before waiting for the next one.
    static let tries = 3
    /// Moves within the steering deadband (2 ms) are not worth a restarted canceller.
    static let tolerance = AudioFormat.wireRate / 500

    init(engine: AudioEngine, marginMilliseconds: Int, logger: Logger, done: @escaping @Sendable () -> Void = {}) {
        self.engine = engine
        self.done = done
        marginSamples = marginMilliseconds * AudioFormat.wireRate / 1000
        self.logger = logger
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield()  // the first answer after start
    }

    /// Align again on the next answer (devices reopened; an answer with nothing cancelled).
    func request() { continuation.yield() }

    func run() async {
        await cancelWhenGracefulShutdown { [self] in
            for await _ in requests {
                for attempt in 1...Self.tries {
                    let estimate = await engine.alignEchoOnSpeech(margin: marginSamples, tolerance: Self.tolerance)
                    if Task.isCancelled { return }
                    guard let estimate else {
                        logger.debug("echo alignment: no clear echo of answer \(attempt) of \(Self.tries)")
                        continue
                    }
                    let lag = Double(estimate.lagSamples) * 1000 / Double(AudioFormat.wireRate)
                    let margin = Double(marginSamples) * 1000 / Double(AudioFormat.wireRate)
                    let moved = abs(estimate.lagSamples - marginSamples) > Self.tolerance
                    let outcome = moved ? "reference moved by \((lag - margin).formatted(decimals: 1)) ms to lead it by \(Int(margin)) ms"
                        : "left where it is"
                    logger.notice("echo alignment on the answer's speech: the echo followed the reference by \(lag.formatted(decimals: 1)) ms (clarity \(Int(estimate.clarity))); \(outcome)")
                    break
                }
                done()
            }
        }
    }
}
