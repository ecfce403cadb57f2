/// Decides, from the live echo measures one after another, when a device's echo
/// cancellation is poor enough to say so, and names the likely cause. Pure: the daemon
/// feeds it each measure and logs what it returns.
///
/// One warning when `belowCount` measures in a row fall under the threshold (one bad
/// answer — a door slammed, someone talked over it — is not a fault); then silence until a
/// measure is back `recoveryDecibels` above it, which is said once as a notice.
public struct EchoHealthWatch: Sendable {
    public enum Verdict: Sendable, Equatable {
        case warning(String)
        case recovered(String)
    }

    public enum Cause: String, Sendable, Equatable {
        /// Nothing cancelled: the echo is not where the reference says.
        case misaligned
        /// The mic reached full scale in far-end-only audio.
        case micClipping
        /// Loud passages cancelled much worse than soft ones.
        case speakerDistortion
        /// None of the above stands out.
        case echoPath
    }

    public let thresholdDecibels: Double
    public let belowCount = 3
    public let recoveryDecibels = 3.0
    public private(set) var warned = false
    private var below = 0

    /// - Parameter thresholdDecibels: `dsp.aec_erle_warning_db`; 0 never warns.
    public init(thresholdDecibels: Double) {
        self.thresholdDecibels = thresholdDecibels
    }

    public mutating func add(_ m: EchoHealthMeter.Measure) -> Verdict? {
        guard thresholdDecibels > 0 else { return nil }
        let erle = m.erleDecibels.formatted1
        if m.erleDecibels < thresholdDecibels {
            below += 1
            guard below >= belowCount, !warned else { return nil }
            warned = true
            return .warning("echo cancellation is poor: \(erle) dB ERLE over the last \(below) answers (warning below "
                            + "\(thresholdDecibels.formatted1) dB, dsp.aec_erle_warning_db); likely cause: \(Self.explain(m))")
        }
        below = 0
        guard warned, m.erleDecibels >= thresholdDecibels + recoveryDecibels else { return nil }
        warned = false
        return .recovered("echo cancellation is good again: \(erle) dB ERLE")
    }

    public static func cause(_ m: EchoHealthMeter.Measure) -> Cause {
        if m.erleDecibels < 6 { return .misaligned }
        if m.micClippedFraction >= 0.05 { return .micClipping }
        if let gap = m.loudLessSoftDecibels, gap <= -6 { return .speakerDistortion }
        return .echoPath
    }

    /// The cause and what to do about it, for the log.
    public static func explain(_ m: EchoHealthMeter.Measure) -> String {
        switch cause(m) {
        case .misaligned:
            "the canceller finds no echo where its reference says (no reference, or misalignment: an echo delay the "
                + "device does not report); set dsp.aec_delay_probe = true to measure it at start"
        case .micClipping:
            "the mic clips (\(Int((m.micClippedFraction * 100).rounded())) % of far-end audio reached full scale): "
                + "lower audio.volume or audio.mic_gain_db"
        case .speakerDistortion:
            "the echo distorts at high level (loud passages cancelled \((-(m.loudLessSoftDecibels ?? 0)).formatted1) dB "
                + "worse than soft ones: the speaker or its amplifier clips): lower audio.volume"
        case .echoPath:
            "the echo path changes (a moving mic or speaker, an open door) or is longer than dsp.aec_tail_ms"
        }
    }
}

extension Double {
    /// One decimal, for log lines.
    var formatted1: String { "\((self * 10).rounded() / 10)" }
}
