import ParleyAudio
import ParleyBoard
import ParleyConfig
import ParleyControlProtocol
import ParleyCore
import ParleyDSP
import ParleyTranscripts
import ParleyTransport
import Synchronization
import ParleyProvisioning

/// What the control socket's requests do to the running daemon, and what `status` and
/// `metrics` report. Glue only: every decision stays in the conversation and the engine.
struct DaemonControl: Sendable {
    let settings: ParleySettings
    let engine: AudioEngine
    let board: any Board
    let controller: DeviceController
    let backend: any VoiceBackend
    let drift: ClockDriftMonitor
    let echoHealth: EchoHealthMonitor
    let transcripts: TranscriptOutbox?
    let provisioning: ProvisioningShown?
    let started: ContinuousClock.Instant

    func handle(_ request: ControlRequest) async -> ControlReply {
        switch request {
        case .status:
            return ControlReply(ok: true, status: await status())
        case .ptt(let action):
            await press(.ptt, action)
            return .done("ptt \(action.past)")
        case .button(let button, let action):
            await press(Button(rawValue: button.rawValue) ?? .cancel, action)
            return .done("\(button.rawValue) \(action.past)")
        case .say(let text):
            guard await controller.state.isReady else { return .failed("not connected to \(backend.name): try again when ready") }
            await controller.say(text)
            return .done("said: \(text)")
        case .volume(let percent):
            let problems = engine.setVolume(percent: percent)
            return problems.isEmpty ? .done("volume \(percent)%") : .failed(problems.joined(separator: "; "))
        case .mute(let on):
            await controller.mute(on)
            return .done(on ? "microphone muted" : "microphone on")
        case .reconnect:
            await backend.reconnect()
            return .done("reconnecting to \(backend.name)")
        case .metrics:
            return ControlReply(ok: true, metrics: await metrics())
        }
    }

    private func press(_ button: Button, _ action: ControlRequest.PTTAction) async {
        if action != .release { await board.set(button, pressed: true) }
        if action != .press { await board.set(button, pressed: false) }
    }

    func status() async -> StatusReport {
        let state = await controller.state
        let stats = await controller.stats
        let audio = engine.status
        let scheduling: String = switch audio?.scheduling {
        case .realtime(let priority): "SCHED_FIFO \(priority)"
        case .normalByConfiguration: "normal priority (configured)"
        case .refused(let reason): "normal priority (SCHED_FIFO refused: \(reason))"
        case nil: "not started"
        }
        return StatusReport(
            version: ParleyVersion.string, deviceID: settings.device.id, backend: backend.name,
            uptimeSeconds: Int((ContinuousClock.now - started).components.seconds),
            state: .init(link: state.link.rawValue, session: state.session.rawValue, turn: state.turn.rawValue,
                         indicator: state.indicator.rawValue, audioLost: state.audioLost, muted: state.muted),
            audio: .init(captureDevice: settings.audio.captureDevice, playbackDevice: settings.audio.playbackDevice,
                         rate: audio?.rate ?? settings.audio.rate, periodFrames: audio?.periodFrames ?? settings.audio.periodFrames,
                         scheduling: scheduling, volumePercent: engine.volumePercent,
                         captureXruns: engine.captureCounters.snapshot().xruns,
                         playbackXruns: engine.playbackCounters.snapshot().xruns,
                         lastDeviceError: engine.lastDeviceError, clockDriftPPM: drift.driftPPM,
                         echoReference: .init(engine.echoReference),
                         captureCPUPercent: engine.captureCounters.cpuPercent,
                         playbackCPUPercent: engine.playbackCounters.cpuPercent,
                         voiceActive: settings.dsp.voiceActivity ? engine.captureCounters.voiceActive.load(ordering: .relaxed) : nil,
                         voiceSeconds: settings.dsp.voiceActivity ? voiceSeconds : nil,
                         echoHealth: settings.dsp.echoCancellation ? .init(echoHealth.snapshot) : nil),
            board: board.summary,
            leds: await board.leds().map { .init(name: $0.name, pattern: $0.pattern.rawValue, lit: $0.lit,
                                                       since: Double($0.sinceNanoseconds) / 1e9) },
            lastError: stats.lastError, lastUserTranscript: stats.lastUserTranscript,
            lastAssistantTranscript: stats.lastAssistantTranscript,
            transcripts: transcripts.map(\.stats).map {
                .init(queued: $0.queued, sent: $0.sent, rejected: $0.rejected, dropped: $0.dropped, lastError: $0.lastError)
            },
            provisioning: provisioning?.current.map {
                .init(version: $0.version, result: $0.result, reason: $0.reason, lastPull: $0.lastPull)
            })
    }

    /// Voice the capture chain's VAD heard since start.
    private var voiceSeconds: Double {
        Double(engine.captureCounters.voiceFrames.load(ordering: .relaxed)) * Double(AudioFormat.frameSamples) / Double(AudioFormat.wireRate)
    }

    func metrics() async -> [String: Double] {
        let stats = await controller.stats
        let capture = engine.captureCounters.snapshot(), playback = engine.playbackCounters.snapshot()
        let echoReference = engine.echoReference
        var metrics: [String: Double] = [
            "parley_turns_total": Double(stats.turns),
            "parley_typed_turns_total": Double(stats.typedTurns),
            "parley_barge_ins_total": Double(stats.bargeIns),
            "parley_too_short_turns_total": Double(stats.tooShort),
            "parley_tool_calls_total": Double(stats.toolCalls),
            "parley_tool_failures_total": Double(stats.toolFailures),
            "parley_backend_reconnects_total": Double(stats.reconnects),
            "parley_audio_device_losses_total": Double(stats.audioDeviceLosses),
            "parley_audio_xruns_total{direction=\"capture\"}": Double(capture.xruns),
            "parley_audio_xruns_total{direction=\"playback\"}": Double(playback.xruns),
            "parley_audio_frames_total{direction=\"capture\"}": Double(capture.frames),
            "parley_audio_frames_total{direction=\"playback\"}": Double(playback.frames),
            "parley_audio_reference_realignments_total": Double(echoReference.realignments),
            "parley_audio_reference_lead_ms": echoReference.leadMilliseconds,
            "parley_audio_reference_resampler_ppm": echoReference.resamplerPPM,
            "parley_audio_echo_probe_correction_ms": echoReference.probeCorrectionMilliseconds,
            "parley_volume_percent": Double(engine.volumePercent),
        ]
        // The device state, the one the LEDs and status show: one series per word, 1 for the current.
        let state = await controller.state
        metrics["parley_ready"] = state.isReady ? 1 : 0
        for link in LinkState.allCases { metrics["parley_link_state{state=\"\(link.rawValue)\"}"] = state.link == link ? 1 : 0 }
        for session in SessionState.allCases {
            metrics["parley_session_state{state=\"\(session.rawValue)\"}"] = state.session == session ? 1 : 0
        }
        for turn in TurnState.allCases { metrics["parley_turn_state{state=\"\(turn.rawValue)\"}"] = state.turn == turn ? 1 : 0 }
        for (thread, counters) in [("capture", engine.captureCounters), ("playback", engine.playbackCounters)] {
            metrics["parley_audio_thread_cpu_seconds_total{thread=\"\(thread)\"}"] =
                Double(counters.cpuNanoseconds.load(ordering: .relaxed)) / 1e9
            metrics["parley_audio_thread_wakeups_total{thread=\"\(thread)\"}"] = Double(counters.wakeups.load(ordering: .relaxed))
            if let percent = counters.cpuPercent { metrics["parley_audio_thread_cpu_percent{thread=\"\(thread)\"}"] = percent }
        }
        for kind in BackendError.Kind.allCases {
            metrics["parley_backend_errors_total{kind=\"\(kind.rawValue)\"}"] = Double(stats.backendErrors[kind] ?? 0)
        }
        if let t = transcripts?.stats {
            metrics["parley_transcripts_queued"] = Double(t.queued)
            metrics["parley_transcripts_sent_total"] = Double(t.sent)
            metrics["parley_transcripts_rejected_total"] = Double(t.rejected)
            metrics["parley_transcripts_dropped_total"] = Double(t.dropped)
            metrics["parley_transcripts_failed_attempts_total"] = Double(t.failedAttempts)
        }
        if let ppm = drift.driftPPM { metrics["parley_audio_clock_drift_ppm"] = ppm }
        if settings.dsp.echoCancellation {
            let health = echoHealth.snapshot
            metrics["parley_aec_measures_total"] = Double(health.measures)
            metrics["parley_aec_warning"] = health.warning == nil ? 0 : 1
            if let last = health.last {
                metrics["parley_aec_erle_db"] = last.erleDecibels
                metrics["parley_aec_far_end_only_seconds"] = last.farEndOnlySeconds
            }
            if let limit = health.speakerLimit { metrics["parley_aec_speaker_limit_dbfs"] = SpeakerCurveFinder.dBFS(limit) }
        }
        if settings.dsp.voiceActivity {
            metrics["parley_audio_voice_active"] = engine.captureCounters.voiceActive.load(ordering: .relaxed) ? 1 : 0
            metrics["parley_audio_voice_seconds_total"] = voiceSeconds
        }
        metrics.merge(stats.turnLatency.series("parley_turn_latency_seconds")) { $1 }
        return metrics
    }
}

extension ControlRequest.PTTAction {
    var past: String {
        switch self {
        case .press: "pressed"
        case .release: "released"
        case .tap: "tapped"
        }
    }
}

extension StatusReport.EchoHealth {
    init(_ s: EchoHealthMonitor.Snapshot) {
        self.init(measures: s.measures, erleDecibels: s.last?.erleDecibels, farEndOnlySeconds: s.last?.farEndOnlySeconds,
                  warning: s.warning?.rawValue,
                  speakerLimitDBFS: s.speakerLimit.map { (SpeakerCurveFinder.dBFS($0) * 10).rounded() / 10 })
    }
}

extension StatusReport.EchoReference {
    init(_ r: AudioEngine.EchoReference) {
        self.init(leadMilliseconds: r.leadMilliseconds, realignments: r.realignments, resamplerPPM: r.resamplerPPM,
                  probeCorrectionMilliseconds: r.probeCorrectionMilliseconds)
    }
}
