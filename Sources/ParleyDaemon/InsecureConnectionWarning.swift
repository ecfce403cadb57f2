import Logging
import Synchronization

/// The warning for backend.tls_verify = false on HTTP transfers: the first at once, then at
/// most one line a minute saying how many unchecked connections there were meanwhile (a
/// relay's audio uploads are several a second; a line each would drown the journal).
final class InsecureConnectionWarning: Sendable {
    private let logger: Logger
    private let state = Mutex<(last: ContinuousClock.Instant?, since: Int)>((nil, 0))

    init(logger: Logger) {
        self.logger = logger
    }

    func connected(to origin: String) {
        let count: Int? = state.withLock { state in
            state.since += 1
            let now = ContinuousClock.now
            if let last = state.last, now - last < .seconds(60) { return nil }
            defer { state = (now, 0) }
            return state.since
        }
        guard let count else { return }
        logger.warning("TLS certificate verification is OFF (backend.tls_verify = false): \(count) connection(s) to \(origin) not checked")
    }
}
