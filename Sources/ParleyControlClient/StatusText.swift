import ParleyControlProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `parleyctl status` for people: one fact per line.
enum StatusText {
    static func render(_ s: StatusReport) -> String {
        var lines = [
            "parleyd \(s.version)  device \(s.deviceID)  up \(s.uptimeSeconds) s",
            "backend   \(s.backend): link \(s.state.link), session \(s.state.session)",
            "turn      \(s.state.turn)  (LEDs: \(s.state.indicator))" + (s.state.muted ? "  microphone MUTED" : ""),
            "audio     capture \"\(s.audio.captureDevice)\", playback \"\(s.audio.playbackDevice)\", \(s.audio.rate) Hz, period \(s.audio.periodFrames) frames"
                + (s.state.audioLost ? "  DEVICE LOST" : ""),
            "          \(s.audio.scheduling); volume \(s.audio.volumePercent)%; xruns capture \(s.audio.captureXruns), playback \(s.audio.playbackXruns)",
            "          clock drift " + (s.audio.clockDriftPPM.map { "\(number($0)) ppm" } ?? "not measured yet")
                + "; echo reference lead \(number(s.audio.echoReference.leadMilliseconds)) ms, resampled \(number(s.audio.echoReference.resamplerPPM)) ppm, probe correction \(number(s.audio.echoReference.probeCorrectionMilliseconds)) ms, \(s.audio.echoReference.realignments) realignment(s); last device error: \(s.audio.lastDeviceError)",
            "          audio thread CPU: capture " + (s.audio.captureCPUPercent.map { "\(number($0))%" } ?? "-")
                + ", playback " + (s.audio.playbackCPUPercent.map { "\(number($0))%" } ?? "-")
                + (s.audio.voiceActive.map { "; voice \($0 ? "now" : "not now"), \(number(s.audio.voiceSeconds ?? 0)) s heard" } ?? ""),
            "          echo cancellation: " + echoHealth(s.audio.echoHealth),
            "board     \(s.board)" + (s.leds.isEmpty ? "" : "; LEDs " + s.leds.map { "\($0.name) \($0.pattern)" }.joined(separator: ", ")),
        ]
        if let error = s.lastError { lines.append("last error \(error)") }
        if let text = s.lastUserTranscript { lines.append("you said  \(text)") }
        if let text = s.lastAssistantTranscript { lines.append("assistant \(text)") }
        if let t = s.transcripts {
            lines.append("transcripts \(t.queued) queued, \(t.sent) sent, \(t.rejected) rejected, \(t.dropped) dropped"
                         + (t.lastError.map { "; failing: \($0)" } ?? ""))
        }
        if let p = s.provisioning {
            let pulled = p.lastPull.map { "last pull \(Int(max(0, Double(time(nil)) - $0))) s ago" } ?? "never pulled"
            lines.append("provisioning \(p.version): \(p.result)\(p.reason.isEmpty ? "" : " (\(p.reason))"), \(pulled)")
        }
        return lines.joined(separator: "\n")
    }

    static func echoHealth(_ h: StatusReport.EchoHealth?) -> String {
        guard let h else { return "off" }
        guard let erle = h.erleDecibels else { return "not measured yet (needs an answer heard over the speaker)" }
        return "\(number(erle)) dB ERLE over the last answer (\(number(h.farEndOnlySeconds ?? 0)) s of far end only; \(h.measures) measure(s))"
            + (h.speakerLimitDBFS.map { "; the speaker squashes peaks above \(number($0)) dBFS: reference bent to match" } ?? "")
            + (h.warning.map { "  POOR: likely \($0), see the log" } ?? "")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String((value * 10).rounded() / 10)
    }
}
