import Logging
import NIOPosix
import ParleyAudio
import ParleyBoard
import ParleyConfig
import ParleyCore
import ParleyHTTP
import ParleyTranscripts
import ParleyTransport
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// parleyd's lifetime: bring up audio and board, say READY, run the services until
/// SIGTERM/SIGINT, then stop cleanly (STOPPING, backend closed, audio stopped, LEDs off).
public struct Daemon {
    public static let exitAudioUnavailable: Int32 = 69  // EX_UNAVAILABLE

    let config: LoadedConfig
    let paths: ConfigPaths
    let environment: [String: String]
    let logShared: ParleyLogHandler.Shared

    public init(config: LoadedConfig, paths: ConfigPaths, environment: [String: String],
                logShared: ParleyLogHandler.Shared) {
        self.config = config
        self.paths = paths
        self.environment = environment
        self.logShared = logShared
    }

    func logger(_ label: String) -> Logger {
        Logger(label: label) { ParleyLogHandler(label: $0, shared: logShared) }
    }

    /// Runs until asked to stop; returns the process exit code.
    public func run() async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let settings = config.settings
        let log = logger("parleyd")
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let backend: any VoiceBackend
        do {
            backend = try BackendFactory(settings: settings, logger: logger("parley.backend")).make()
        } catch {
            log.critical("\(error)")
            try? await eventLoops.shutdownGracefully()
            return ConfigError.exitCode
        }
        let notifier = SystemdNotifier(environment: environment)
        for secret in config.secrets.values { logShared.redactor.register(secret.reveal()) }
        log.info("parleyd \(ParleyVersion.string) starting: device \(settings.device.id), backend \(settings.backend.kind.rawValue), board \(settings.board.kind.rawValue), ptt \(settings.ptt.mode.rawValue)")
        let cues: CueSounds
        do { cues = try CueSounds(settings.board) } catch {
            log.critical("\(error)")
            try? await eventLoops.shutdownGracefully()
            return ConfigError.exitCode
        }
        guard let board = BoardFactory(settings: settings, logger: logger("parley.board")).make() else {
            try? await eventLoops.shutdownGracefully()
            return ConfigError.exitCode
        }
        var transcripts: TranscriptOutbox?
        if settings.transcripts.enabled {
            do { transcripts = try Self.openTranscripts(settings, logger: logger("parley.transcripts")) } catch {
                log.critical("\(error)")
                await board.shutdown()
                try? await eventLoops.shutdownGracefully()
                return ConfigError.exitCode
            }
        }
        notifier.status("starting audio")

        let engine = AudioEngine(settings: settings.audio, dsp: settings.dsp)
        do {
            for note in try engine.start() { log.warning("\(note)") }
        } catch {
            log.critical("\(error)")
            notifier.status("audio failed: \(error)")
            await board.shutdown()
            try? await eventLoops.shutdownGracefully()
            return Self.exitAudioUnavailable
        }
        if let audio = engine.status {
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

        let controller = DeviceController(
            ptt: settings.ptt, prerollMilliseconds: settings.audio.prerollMilliseconds,
            cues: cues, board: board, backend: backend,
            tools: DeviceTools(settings: settings.tools, device: settings.device, engine: engine, backendName: backend.name,
                               http: HTTPClient()),
            audio: AudioPorts(captured: engine.captured, playback: engine.playback, cues: engine.cues,
                             doorbell: engine.doorbell),
            stepVolume: { [step = settings.board.volumeStepPercent, audioLog = logger("parley.audio")] steps in
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
        let audioLog = logger("parley.audio")
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
        let control = DaemonControl(settings: settings, engine: engine, board: board, controller: controller,
                                    backend: backend, drift: drift, transcripts: transcripts, started: .now)
        var controlServer = ControlServer(path: settings.control.socketPath, mode: settings.control.mode,
                                          group: settings.control.group, logger: logger("parley.control"),
                                          handle: control.handle)
        do {
            try await controlServer.listen(eventLoopGroup: eventLoops)  // up before READY
        } catch {
            log.critical("\(error)")
            engine.stop()
            await board.shutdown()
            try? await eventLoops.shutdownGracefully()
            return ConfigError.exitCode
        }
        let probe = settings.dsp.echoDelayProbe && settings.dsp.echoCancellation
            ? EchoDelayProbe(engine: engine, marginMilliseconds: settings.dsp.echoProbeMarginMilliseconds, logger: audioLog) {
                await controller.playSound($0)
            }
            : nil
        var services: [any Service] = [
            controlServer,
            TaskService(description: "backend") { try await backend.run() },
            TaskService(description: "controller") { await controller.run() },
            AudioSupervisor(
                watched: [.init(name: "capture", counters: engine.captureCounters),
                          .init(name: "playback", counters: engine.playbackCounters)],
                notifier: notifier, logger: audioLog,
                recovery: .init(engine: engine, maximumBackoff: .milliseconds(settings.audio.reopenMaxMilliseconds)) {
                    await controller.audioDevice(lost: $0)
                    if !$0 { probe?.request() }
                }),
            drift,
            SystemdLifecycle(notifier: notifier, reloader: reloader, logger: log),
        ]
        if let probe { services.append(probe) }
        if let transcripts {
            services.append(TaskService(description: "transcripts") { await transcripts.run() })
        }
        if settings.metrics.enabled {
            services.append(MetricsServer(listen: settings.metrics.listen, eventLoopGroup: eventLoops,
                                          logger: logger("parley.metrics"), metrics: control.metrics))
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger("parley.lifecycle")))
        var code: Int32 = 0
        do {
            try await group.run()
        } catch {
            log.error("stopped on error: \(error)")
            code = 1
        }
        try? await eventLoops.shutdownGracefully()
        transcripts?.drain()  // every submitted transcript on disk before exit
        if !engine.stop() { log.error("an audio thread did not stop; leaving it behind") }
        await board.shutdown()  // LEDs off, lines released
        log.notice("stopped")
        return code
    }
}

extension Daemon {
    /// systemd's STATUS=: the device state, as the log's "state:" lines and `parleyctl status` show it.
    static func statusText(_ state: DeviceState, backend: String) -> String {
        "\(state) (\(backend))"
    }

    static func openTranscripts(_ settings: ParleySettings, logger: Logger) throws -> TranscriptOutbox {
        let t = settings.transcripts
        return try TranscriptOutbox(
            settings: .init(url: t.url, token: t.token?.reveal() ?? "", userID: t.userID, deviceID: settings.device.id,
                            queuePath: t.queuePath, maximumQueued: t.maximumQueued,
                            retryMax: .milliseconds(t.retryMaxMilliseconds), timeoutMilliseconds: t.timeoutMilliseconds),
            http: HTTPClient(), logger: logger)
    }
}

public enum ParleyVersion {
    public static let string = "0.1.0"
}
