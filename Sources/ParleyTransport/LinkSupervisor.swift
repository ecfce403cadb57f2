import Logging

/// How a backend redials after a failure: data, not code, so every backend (and the
/// transcriber) follows the same rules and each differs only in its numbers.
public struct RetryPolicy: Sendable, Equatable {
    public var initialMilliseconds: Int
    public var maximumMilliseconds: Int
    /// Tries at the doubling pace; after them every `maximumMilliseconds` (seed 004's client:
    /// 5 tries from 1 s). Nil: double up to the maximum and stay there.
    public var doublingTries: Int?
    /// ± this fraction of each wait, so a fleet that lost the same uplink does not come back in lockstep.
    public var jitter: Double

    public init(initialMilliseconds: Int, maximumMilliseconds: Int, doublingTries: Int? = nil, jitter: Double = 0.2) {
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
        self.doublingTries = doublingTries
        self.jitter = jitter
    }

    /// The wait after the `failures`th failure in a row (1-based), before jitter. A refused key
    /// or token waits the longest: it does not get better by hammering.
    public func wait(afterFailures failures: Int, auth: Bool) -> Int {
        if auth { return maximumMilliseconds }
        let doublings = max(0, failures - 1)
        if let tries = doublingTries, failures > tries { return maximumMilliseconds }
        guard doublings < 31, initialMilliseconds << doublings < maximumMilliseconds else { return maximumMilliseconds }
        return initialMilliseconds << doublings
    }

    /// `milliseconds` moved by `random` (in -1...1) times the jitter fraction.
    public func jittered(_ milliseconds: Int, random: Double) -> Int {
        milliseconds + Int((Double(milliseconds) * jitter * max(-1, min(1, random))).rounded())
    }
}

/// Why a connection ended, as the log line names it.
public enum LinkEnd: Sendable, Equatable {
    /// Could not connect, was refused, or was lost (the error's kind says which).
    case failed(BackendError)
    /// The device gave up on a server that stopped talking.
    case stalled(String)
    /// The server or peer ended it in good order.
    case peerClosed(String)
    /// The relay reported a failure of the media or session: re-dialled.
    case relayError(String)
    /// `parleyctl reconnect`.
    case operatorReconnect
    /// A planned session renewal: the technician sees no change.
    case renewal
    /// The daemon stops.
    case stopped
}

/// One backend link's lifecycle as a pure state machine: what the link state is, when to
/// redial, and what to log — one line when an outage starts, one when it ends, each end
/// named for what happened. Time and randomness are inputs; `SupervisedLink` does the waiting.
///
/// Vocabulary (docs/BACKENDS.md, "Link and session states"): `connecting` while the first
/// dial (or an asked-for redial) is under way; `connected` once the session is ready;
/// `error` from a failure until the replacement session is ready, also while redialling;
/// `offline` when stopped.
public struct LinkSupervisor: Sendable {
    public enum Output: Sendable, Equatable {
        case link(LinkState)
        case log(Logger.Level, String)
        /// Counted in `parley_backend_errors_total{kind}`; the line is logged here.
        case error(BackendError)
        /// Wait this long before the next dial.
        case wait(milliseconds: Int)
    }

    public let name: String
    public let policy: RetryPolicy
    /// The session is ready (since `ready`, until the connection ends).
    private var up = false
    public private(set) var link = LinkState.offline
    /// Failures in a row since the session was last ready.
    public private(set) var failures = 0
    /// The outage in progress: when it started and what started it.
    public private(set) var outage: (since: ContinuousClock.Instant, cause: String)?
    private var authFailed = false
    /// A renewal is under way: the technician sees no change until it fails.
    private var renewing = false

    public init(name: String, policy: RetryPolicy) {
        self.name = name
        self.policy = policy
    }

    /// A dial starts.
    public mutating func dial() -> [Output] {
        // In an outage the error stays until a session is ready again; a renewal is quiet.
        guard outage == nil, !renewing else { return [] }
        return report(.connecting)
    }

    /// The session is ready: the link is connected, and an outage is over.
    public mutating func ready(at now: ContinuousClock.Instant) -> [Output] {
        up = true
        renewing = false
        authFailed = false
        var outputs: [Output] = []
        if let outage {
            let tenths = (now - outage.since) / .milliseconds(100)
            outputs.append(.log(.notice, "\(name): connected again after \(Int(tenths) / 10).\(Int(tenths) % 10) s (\(failures) failed \(failures == 1 ? "try" : "tries"))"))
        }
        outage = nil
        failures = 0
        return outputs + report(.connected)
    }

    /// The connection ended. `random` in -1...1 jitters the wait.
    public mutating func ended(_ end: LinkEnd, at now: ContinuousClock.Instant, random: Double) -> [Output] {
        if up { failures = 0 }  // the backoff starts over once a session was up
        up = false
        switch end {
        case .stopped:
            outage = nil
            return report(.offline)
        case .renewal:
            renewing = true
            return []  // the backend says why it renews (its age, the server's expiry)
        case .operatorReconnect:
            renewing = false
            // Asked for: at once, and an outage in progress goes on (its error stays).
            return [.log(.notice, "\(name): reconnecting as the operator asked")]
                + (outage == nil ? report(.connecting) : [])
        case .peerClosed(let why):
            // Not an outage: the server said goodbye. Redialled after the usual wait.
            renewing = false
            let wait = nextWait(random: random)
            return [.log(outage == nil ? .notice : .debug, "\(name): \(why); redialling in \(wait) ms")]
                + (outage == nil ? report(.connecting) : []) + [.wait(milliseconds: wait)]
        case .relayError(let why):
            return failure("\(name): \(why)", error: nil, level: .error, at: now, random: random)
        case .stalled(let why):
            return failure("\(name): \(why)", error: BackendError(.connection, "\(name): \(why)", logged: true),
                           level: .error, at: now, random: random)
        case .failed(let error):
            authFailed = authFailed || error.kind == .auth
            return failure("\(name): \(error.message)", error: BackendError(error.kind, "\(name): \(error.message)", logged: true),
                           level: .error, at: now, random: random)
        }
    }

    private mutating func failure(_ cause: String, error: BackendError?, level: Logger.Level,
                                  at now: ContinuousClock.Instant, random: Double) -> [Output] {
        let wasRenewing = renewing
        renewing = false
        let wait = nextWait(random: random)
        var outputs: [Output] = []
        if let outage {
            // One line per outage: later tries are counted, not logged again — but for the
            // moment a seed's retries run out and the pace drops (seed 004: "Max reconnection attempts").
            if let tries = policy.doublingTries, failures == tries + 1 {
                outputs.append(.log(.error, "\(name): \(tries) tries failed; trying every \(wait) ms"))
            } else {
                outputs.append(.log(.debug, "\(name): still down (try \(failures), since \(outage.cause)): \(cause)"))
            }
        } else {
            outage = (now, cause)
            let pace = authFailed ? "retrying every \(wait) ms"
                : "retrying in \(wait) ms, backing off to \(policy.maximumMilliseconds) ms"
            outputs.append(.log(level, "\(cause)\(wasRenewing ? " (renewing the session)" : ""); \(pace)"))
        }
        if let error { outputs.append(.error(error)) }
        return outputs + report(.error) + [.wait(milliseconds: wait)]
    }

    /// One more failure in a row, and the wait it earns.
    private mutating func nextWait(random: Double) -> Int {
        failures += 1
        return policy.jittered(policy.wait(afterFailures: failures, auth: authFailed), random: random)
    }

    private mutating func report(_ state: LinkState) -> [Output] {
        guard state != link else { return [] }
        link = state
        return [.link(state)]
    }
}
