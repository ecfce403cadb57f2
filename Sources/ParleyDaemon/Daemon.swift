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
import NIOCore
#endif

/// parleyd's lifetime: bring up audio and board, say READY, run the services until
/// SIGTERM/SIGINT, then stop cleanly (STOPPING, backend closed, audio stopped, LEDs off).
public struct Daemon {
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

    /// Runs until asked to stop; returns the process exit code. The one place a failure
    /// becomes an exit code: a configuration the daemon cannot run with is 78, anything that
    /// ends the service group early 1. Missing audio hardware is not an exit: the daemon
    /// waits for it (audio=lost), as systemd's restart loop would, without the loop.
    public func run() async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let log = logger("parleyd")
        let notifier = SystemdNotifier(environment: environment)
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var code: Int32 = 0
        var started: Started?
        do {
            started = try await start(notifier: notifier, eventLoops: eventLoops, log: log)
            try await started!.group.run()
        } catch let failure as StartFailure {
            log.critical("\(failure)")
            notifier.status("configuration error: \(failure)")
            code = failure.exitCode
            if Provisioner.rollBackFailedStart(paths: paths, why: "\(failure)") {
                log.error("provisioning: the files just applied stop the daemon from starting; restored the last good ones, restarting")
                code = 1  // not 78: systemd restarts it, on the restored files
            }
        } catch {
            log.error("stopped on error: \(error)")
            code = 1
        }
        try? await eventLoops.shutdownGracefully()
        started?.transcripts?.drain()  // every submitted transcript on disk before exit
        if code == 0 { log.notice("stopped") } else { log.warning("stopped with exit status \(code)") }
        return code
    }
}

/// Why the daemon cannot start; its exit code is decided here and nowhere else.
enum StartFailure: Error, CustomStringConvertible {
    /// A configuration the daemon cannot run with (the message names key and fix): EX_CONFIG.
    case config(String)

    var exitCode: Int32 {
        switch self {
        case .config: ConfigError.exitCode
        }
    }

    var description: String {
        switch self {
        case .config(let why): why
        }
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
