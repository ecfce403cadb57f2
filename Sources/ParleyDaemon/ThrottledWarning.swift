import Logging
import Synchronization

/// A warning that can come many times a second — an unchecked or unencrypted connection (a
/// relay's audio uploads are several a second), a refused control-socket client — said at
/// once the first time, then at most once per `interval` with how many there were since:
/// what happened stays visible, and the journal's volume stays bounded under abuse.
final class ThrottledWarning: Sendable {
    private let logger: Logger
    private let level: Logger.Level
    private let interval: Duration
    private let state = Mutex<(last: ContinuousClock.Instant?, since: Int)>((nil, 0))

    init(logger: Logger, level: Logger.Level = .warning, interval: Duration = .seconds(60)) {
        self.logger = logger
        self.level = level
        self.interval = interval
    }

    /// One more; `message` gets how many since the last line (this one included).
    func happened(_ message: (Int) -> String) {
        let count: Int? = state.withLock { state in
            state.since += 1
            let now = ContinuousClock.now
            if let last = state.last, now - last < interval { return nil }
            defer { state = (now, 0) }
            return state.since
        }
        if let count { logger.log(level: level, "\(message(count))") }
    }
}
