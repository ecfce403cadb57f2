import Logging
import ParleyAudio
import ParleyDSP
import ServiceLifecycle

/// `dsp.aec_speaker_curve`: finds whether the speaker squashes its peaks, and by how much,
/// on the far end's own speech (`SpeakerCurveFit`), and has the capture thread bend the
/// echo reference to match (`SpeakerCurve`) — or straighten it. On the first answer after
/// start and after each device reopen, once the alignment on speech is done with it (the
/// reference must not move under the recording), and after an answer the live echo
/// measure found poorly cancelled (a volume turned up into clipping, or down out of it),
/// at most once a minute for those.
final class SpeakerCurveFinder: Service, Sendable {
    private let engine: AudioEngine
    private let tailMilliseconds: Int
    private let logger: Logger
    private let requests: AsyncStream<Bool>
    private let continuation: AsyncStream<Bool>.Continuation
    /// Between fits asked for by poorly cancelled answers.
    static let poorAnswerInterval = Duration.seconds(60)

    /// - Parameter waitsForAlignment: the speech aligner asks for the first fit when it is
    ///   done; without one, the first answer does.
    init(engine: AudioEngine, tailMilliseconds: Int, waitsForAlignment: Bool, logger: Logger) {
        self.engine = engine
        self.tailMilliseconds = tailMilliseconds
        self.logger = logger
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        if !waitsForAlignment { continuation.yield(true) }
    }

    /// Fit on the next answer: after start or a device reopen (`always`), or after a poorly
    /// cancelled answer (not within a minute of the last fit).
    func request(always: Bool = true) { continuation.yield(always) }

    func run() async {
        await cancelWhenGracefulShutdown { [self] in
            var last: ContinuousClock.Instant?
            for await always in requests {
                if !always, let last, ContinuousClock.now - last < Self.poorAnswerInterval { continue }
                let before = engine.speakerLimit
                guard let fit = await engine.fitSpeakerCurve(tailMilliseconds: tailMilliseconds)
                else { continue }
                last = .now
                let found = "\(fit.straightDecibels.formatted(decimals: 1)) dB of the answer's echo cancelled against the reference as sent"
                if let limit = fit.limit {
                    let text = "the speaker squashes its peaks above about \(Self.dBFS(limit).formatted(decimals: 1)) dBFS: the echo reference is bent to match (\(found), \(fit.erleDecibels.formatted(decimals: 1)) dB bent)"
                    if before != fit.limit { logger.notice("speaker curve: \(text)") } else { logger.debug("speaker curve: \(text)") }
                } else {
                    let text = "the speaker plays straight (\(found); no curve did \(Int(SpeakerCurveFit.minimumGainDecibels)) dB better)"
                    if before != nil { logger.notice("speaker curve: \(text); the reference is no longer bent") } else { logger.debug("speaker curve: \(text)") }
                }
            }
        }
    }

    static func dBFS(_ limit: Int) -> Double { 20 * log10(Double(limit) / 32768) }
}


#if canImport(Glibc)
import Glibc
#endif
