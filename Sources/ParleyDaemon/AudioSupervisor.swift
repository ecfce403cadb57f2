import Logging
import ParleyAudio
import ServiceLifecycle
import Synchronization

/// Watches the audio threads from the control plane: pings the systemd watchdog only
/// while every thread's heartbeat advances (so a hung audio thread gets the daemon
/// restarted), logs what the threads counted (xruns, errors) — they never log — and when
/// a thread reports its device gone, reopens the devices with backoff until they are back
/// (still pinging: recovering is not hanging).
public struct AudioSupervisor: Service {
    public struct Watched: Sendable {
        public let name: String
        public let counters: AudioCounters
        public init(name: String, counters: AudioCounters) {
            self.name = name
            self.counters = counters
        }
    }

    /// What to do when a device is lost: reopen the engine, report the state.
    public struct Recovery: Sendable {
        public let engine: AudioEngine
        public let maximumBackoff: Duration
        public let onDeviceLost: @Sendable (Bool) async -> Void
        public init(engine: AudioEngine, maximumBackoff: Duration, onDeviceLost: @escaping @Sendable (Bool) async -> Void) {
            self.engine = engine
            self.maximumBackoff = maximumBackoff
            self.onDeviceLost = onDeviceLost
        }
    }

    let watched: [Watched]
    let notifier: SystemdNotifier
    let interval: Duration
    let logger: Logger
    let recovery: Recovery?

    /// Checks at half the watchdog interval (sd_watchdog_enabled(3) advice), or every
    /// second when systemd has no watchdog for us (still logging stalls and xruns).
    public init(watched: [Watched], notifier: SystemdNotifier, logger: Logger, recovery: Recovery? = nil) {
        self.watched = watched
        self.recovery = recovery
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
                if let recovery, recovery.engine.isDeviceLost {
                    guard await recover(recovery) else { return }
                    last = watched.map { $0.counters.snapshot() }
                    stalled.removeAll()
                    continue
                }
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

    /// Reopens until the devices are back; false when cancelled first.
    private func recover(_ recovery: Recovery) async -> Bool {
        let engine = recovery.engine
        logger.error("audio device lost (\(engine.lastDeviceError)); reopening until it is back")
        notifier.status("audio device lost")
        await recovery.onDeviceLost(true)
        var backoff = Duration.milliseconds(100)
        var attempts = 0
        let started = ContinuousClock.now
        var lastSaid = started  // "still unavailable" at most once a minute: a device without its card may wait for days
        while !Task.isCancelled {
            attempts += 1
            do {
                let mixerNotes = try engine.reopen()
                for note in mixerNotes { logger.warning("\(note)") }
                logger.notice("audio device back after \(attempts) attempt(s), \(ContinuousClock.now - started)")
                notifier.status("audio device back")
                await recovery.onDeviceLost(false)
                return true
            } catch {
                if ContinuousClock.now - lastSaid >= .seconds(60) {
                    lastSaid = .now
                    logger.warning("audio device still unavailable after \(attempts) attempt(s): \(error)")
                }
            }
            // Wait in watchdog-sized steps, pinging: the daemon is working, not hung.
            var waited = Duration.zero
            while waited < backoff {
                notifier.watchdog()
                let step = min(interval, backoff - waited)
                do { try await Task.sleep(for: step) } catch { return false }
                waited += step
            }
            backoff = min(backoff * 2, recovery.maximumBackoff)
        }
        return false
    }
}
