import Logging
import NIOPosix
import ParleyAudio
import ParleyBoard
import ParleyConfig
import ParleyControlProtocol
import ParleyCore
import ParleyHTTP
import ParleyTranscripts
import ParleyTransport
import ServiceLifecycle
import UnixSignals

/// The daemon wired: every part built, the audio running, the control socket listening —
/// ready for the service group to run.
struct Started {
    let group: ServiceGroup
    let transcripts: TranscriptOutbox?
}

/// Steps that undo a start that failed midway, newest first; each runs once.
private final class Teardown {
    private var steps: [@Sendable () async -> Void] = []

    func add(_ step: @escaping @Sendable () async -> Void) { steps.append(step) }

    func run() async {
        while let step = steps.popLast() { await step() }
    }
}

extension Daemon {
    /// Builds and wires every part, in dependency order; throws `StartFailure` (having undone
    /// what it started) when the configuration cannot be used.
    func start(notifier: SystemdNotifier, eventLoops: MultiThreadedEventLoopGroup, log: Logger) async throws -> Started {
        let teardown = Teardown()
        do {
            return try await wire(notifier: notifier, eventLoops: eventLoops, log: log, teardown: teardown)
        } catch {
            await teardown.run()
            throw error
        }
    }

    private func wire(notifier: SystemdNotifier, eventLoops: MultiThreadedEventLoopGroup, log: Logger,
                      teardown: Teardown) async throws -> Started {
        let settings = config.settings
        let backend: any VoiceBackend
        let factory = BackendFactory(settings: settings, logger: logger("parley.backend"))
        do { backend = try factory.make() } catch {
            throw StartFailure.config("\(error)")
        }
        await factory.prepare()
        if let problem = provisioningKeyProblem(settings) { throw StartFailure.config(problem) }
        for secret in config.secrets.values { logShared.redactor.register(secret.reveal()) }
        log.info("parleyd \(ParleyVersion.string) starting: device \(settings.device.id), backend \(settings.backend.kind.rawValue), board \(settings.board.kind.rawValue), ptt \(settings.ptt.mode.rawValue)")
        let cues: CueSounds
        do { cues = try CueSounds(settings.board) } catch { throw StartFailure.config("\(error)") }
        guard let board = BoardFactory(settings: settings, logger: logger("parley.board")).make() else {
            throw StartFailure.config("the board cannot be used (see the lines above)")
        }
        teardown.add { await board.shutdown() }
        var transcripts: TranscriptOutbox?
        if settings.transcripts.enabled {
            do { transcripts = try Self.openTranscripts(settings, logger: logger("parley.transcripts")) } catch {
                throw StartFailure.config("\(error)")
            }
        }
        notifier.status("starting audio")
        let engine = AudioEngine(settings: settings.audio, dsp: settings.dsp)
        if let problem = engine.memoryLock?.problem { log.warning("\(problem)") }
        // No sound card (yet): the daemon comes up without it — audio=lost on the LEDs, status
        // and STATUS= — and the supervisor reopens it with backoff, rather than exiting into
        // systemd's restart loop. The supervisor logs the outage.
        if case .success(let notes) = engine.startOrAwaitDevices() {
            for note in notes { log.warning("\(note)") }
            logAudio(engine, settings: settings, log: log)
        }
        teardown.add { engine.stop() }

        let audioLog = logger("parley.audio")
        let controller = DeviceController(
            ptt: settings.ptt, prerollMilliseconds: settings.audio.prerollMilliseconds,
            cues: cues, board: board, backend: backend,
            tools: DeviceTools(settings: settings.tools, device: settings.device, engine: engine, backendName: backend.name,
                               http: HTTPClient()),
            audio: AudioPorts(captured: engine.captured, playback: engine.playback, cues: engine.cues,
                              doorbell: engine.doorbell),
            stepVolume: { [step = settings.board.volumeStepPercent] steps in
                let percent = min(100, max(0, engine.volumePercent + steps * step))
                let problems = engine.setVolume(percent: percent)
                audioLog.info("volume \(percent)%")
                for problem in problems { audioLog.warning("\(problem)") }
            },
            onTranscript: { [transcripts] role, text in transcripts?.submit(role: role.rawValue, content: text) },
            logger: logger("parley.core")
        ) { state in
            notifier.status(Self.statusText(state, backend: backend.name))
        }
        notifier.status(Self.statusText(await controller.state, backend: backend.name))
        let boardLog = logger("parley.board")
        let reloader = ConfigReloader(
            initial: config, paths: paths, environment: environment, notifier: notifier, logger: logger("parley.config")
        ) { [logShared] new in
            logShared.setLevel(Logger.Level(rawValue: new.logging.level) ?? .info)
            for note in engine.setLevels(volumePercent: new.audio.volumePercent,
                                         micGainDecibels: new.audio.micGainDecibels) { audioLog.warning("\(note)") }
            var cues: CueSounds?
            do { cues = try CueSounds(new.board) } catch { boardLog.error("\(error); keeping the cues in use") }
            await controller.update(ptt: new.ptt, cues: cues)
        }
        let drift = ClockDriftMonitor(engine: engine, rate: settings.audio.rate, warningPPM: settings.dsp.driftWarningPPM,
                                      logger: audioLog)
        let aligns = settings.dsp.alignOnSpeech || settings.dsp.echoDelayProbe
        let curve = settings.dsp.echoCancellation && settings.dsp.speakerCurve
            ? SpeakerCurveFinder(engine: engine, tailMilliseconds: settings.dsp.echoTailMilliseconds, waitsForAlignment: aligns,
                                 logger: audioLog)
            : nil
        let aligner = settings.dsp.echoCancellation && settings.dsp.alignOnSpeech && !settings.dsp.echoDelayProbe
            ? SpeechEchoAligner(engine: engine, marginMilliseconds: settings.dsp.echoProbeMarginMilliseconds, logger: audioLog) {
                curve?.request()
            }
            : nil
        let echoHealth = EchoHealthMonitor(engine: engine, warningDecibels: settings.dsp.echoHealthWarningDecibels, logger: audioLog,
                                           nothingCancelled: { aligner?.request() }, poorlyCancelled: { curve?.request(always: false) })
        let provisioningShown = settings.provisioning.url == nil ? nil : ProvisioningShown()
        let control = DaemonControl(settings: settings, engine: engine, board: board, controller: controller,
                                    backend: backend, drift: drift, echoHealth: echoHealth, transcripts: transcripts,
                                    provisioning: provisioningShown, started: .now)
        let provisioner = provisioningShown.flatMap { shown in
            Provisioner(settings: settings, paths: paths, environment: environment, logger: logger("parley.provisioning"),
                        running: { reloader.running }, isReady: { await controller.state.isReady }, shown: shown,
                        report: { (await control.status(), await control.metrics()) },
                        reload: { await reloader.reload(because: "provisioning") })
        }
        var controlServer = ControlServer(path: settings.control.socketPath, mode: settings.control.mode,
                                          group: settings.control.group, logger: logger("parley.control"),
                                          handle: control.handle)
        do {
            try await controlServer.listen(eventLoopGroup: eventLoops)  // up before READY
        } catch {
            throw StartFailure.config("\(error)")
        }
        let probe = settings.dsp.echoDelayProbe && settings.dsp.echoCancellation
            ? EchoDelayProbe(engine: engine, marginMilliseconds: settings.dsp.echoProbeMarginMilliseconds, logger: audioLog,
                             done: { curve?.request() }) {
                await controller.playSound($0)
            }
            : nil
        // Started in this order, stopped in the reverse: READY last (it hears of shutdown
        // first), the board and the audio engine first (they stop last, LEDs off at the end).
        var services: [any Service] = [
            StoppingService(description: "board") { await board.shutdown() },
            StoppingService(description: "audio engine") {
                if !engine.stop() { log.error("an audio thread did not stop; leaving it behind") }
            },
            controlServer,
            TaskService(description: "backend") { try await backend.run() },
            TaskService(description: "controller") { await controller.run() },
            AudioSupervisor(
                watched: [.init(name: "capture", counters: engine.captureCounters),
                          .init(name: "playback", counters: engine.playbackCounters)],
                notifier: notifier, logger: audioLog,
                recovery: .init(engine: engine, maximumBackoff: .milliseconds(settings.audio.reopenMaxMilliseconds)) {
                    await controller.audioDevice(lost: $0)
                    if !$0 {
                        probe?.request()
                        aligner?.request()
                        if probe == nil && aligner == nil { curve?.request() }  // else when they are done
                    }
                }),
            drift,
        ]
        if settings.dsp.echoCancellation { services.append(echoHealth) }
        if let probe { services.append(probe) }
        if let aligner { services.append(aligner) }
        if let curve { services.append(curve) }
        if let transcripts {
            services.append(TaskService(description: "transcripts") { await transcripts.run() })
        }
        if let provisioner { services.append(provisioner) }
        if settings.metrics.enabled {
            services.append(MetricsServer(listen: settings.metrics.listen, eventLoopGroup: eventLoops,
                                          logger: logger("parley.metrics"), metrics: control.metrics))
        }
        services.append(SystemdLifecycle(notifier: notifier, reloader: reloader, logger: log,
                                         releasesStartupCode: !settings.audio.lockMemory))
        // The provisioner ends only to restart the daemon on files it applied: a clean exit,
        // which systemd's Restart=always follows with a start.
        let group = ServiceGroup(configuration: .init(
            services: services.map {
                $0 is Provisioner ? .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) : .init(service: $0)
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger("parley.lifecycle")))
        return Started(group: group, transcripts: transcripts)
    }

    private func logAudio(_ engine: AudioEngine, settings: ParleySettings, log: Logger) {
        guard let audio = engine.status else { return }
        log.info("audio: capture \"\(audio.captureDevice)\", playback \"\(audio.playbackDevice)\", \(audio.rate) Hz, period \(audio.periodFrames) frames, pacing \(settings.audio.pacing.rawValue)")
        switch audio.scheduling {
        case .realtime(let priority):
            log.info("audio threads at SCHED_FIFO priority \(priority)")
        case .normalByConfiguration:
            log.info("audio threads at normal priority (audio.realtime_priority = 0)")
        case .refused(let reason):
            log.warning("audio threads run at normal priority: SCHED_FIFO \(settings.audio.realtimePriority) refused (\(reason)); grant CAP_SYS_NICE or LimitRTPRIO")
        }
    }
}

/// A part started before the group (the audio engine, the board) as a Service: it runs until
/// shutdown, then stops its part. First in the group, so it stops after everything using it.
struct StoppingService: Service, CustomStringConvertible {
    let description: String
    let stop: @Sendable () async -> Void

    func run() async {
        try? await gracefulShutdown()  // returns on graceful shutdown, throws on cancellation: stop either way
        await stop()
    }
}
