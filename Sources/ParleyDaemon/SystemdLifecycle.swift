import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon's conversation with systemd: READY once everything runs, RELOADING/READY
/// around each SIGHUP reload, STOPPING as soon as shutdown begins.
///
/// READY is sent from inside the service group, after it trapped SIGTERM/SIGINT and after
/// SIGHUP is trapped here: a supervisor that signals us right after READY never kills us
/// by the signal's default action. Listed last, so it hears of shutdown first.
struct SystemdLifecycle: Service {
    let notifier: SystemdNotifier
    let reloader: ConfigReloader
    let logger: Logger
    /// Drop the code only starting ran once READY (`StartupCode`; not with audio.lock_memory).
    let releasesStartupCode: Bool

    func run() async {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        notifier.ready()
        logger.notice("ready")
        if releasesStartupCode, let bytes = StartupCode.release() {
            logger.debug("startup code released: \(bytes >> 10) KiB of code mapping advised")
        }
        await cancelWhenGracefulShutdown {
            for await _ in hangups { await reloader.reload() }
        }
        notifier.stopping()
        logger.notice("stopping")
    }
}
