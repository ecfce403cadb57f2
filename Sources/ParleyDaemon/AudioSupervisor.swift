import Logging
import ParleyAudio
import ServiceLifecycle

/// Watches the audio threads from the control plane: pings the systemd watchdog only
/// while every thread's heartbeat advances (so a hung audio thread gets the daemon
/// restarted), and logs what the threads counted (xruns, errors) — they never log.
public struct AudioSupervisor: Service {
    public struct Watched: Sendable {
        public let name: String
        public let counters: AudioCounters
        public init(name: String, counters: AudioCounters) {
            self.name = name
            self.counters = counters
        }
    }

    let watched: [Watched]
    let notifier: SystemdNotifier
    let interval: Duration
    let logger: Logger

    /// Checks at half the watchdog interval (sd_watchdog_enabled(3) advice), or every
    /// second when systemd has no watchdog for us (still logging stalls and xruns).
    public init(watched: [Watched], notifier: SystemdNotifier, logger: Logger) {
        self.watched = watched
        self.notifier = notifier
        self.logger = logger
        interval = notifier.watchdogMicroseconds.map { .microseconds(Int64($0 / 2)) } ?? .seconds(1)
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            var last = watched.map { $0.counters.snapshot() }
            var stalled = Set<String>()
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                let now = watched.map { $0.counters.snapshot() }
                var healthy = true
                for (index, item) in watched.enumerated() {
                    let (before, after) = (last[index], now[index])
                    if after.heartbeat == before.heartbeat {
                        healthy = false
                        if stalled.insert(item.name).inserted {
                            logger.error("audio \(item.name) thread stalled: no heartbeat for \(interval); withholding the watchdog")
                            notifier.status("audio \(item.name) thread stalled")
                        }
                    } else if stalled.remove(item.name) != nil {
                        logger.notice("audio \(item.name) thread running again")
                    }
                    if after.xruns > before.xruns {
                        logger.warning("audio \(item.name): \(after.xruns - before.xruns) xrun(s) recovered (total \(after.xruns))")
                    }
                    if after.errors > before.errors {
                        let code = item.counters.lastError.load(ordering: .relaxed)
                        logger.error("audio \(item.name): \(after.errors - before.errors) device error(s), last \(code)")
                    }
                }
                if healthy { notifier.watchdog() }
                last = now
            }
        }
    }
}
