import Logging

/// A backend (or the transcriber) whose connection `LinkSupervisor` runs: the one reconnect
/// loop every link shares. The adopter supplies one connection (`connectOnce`) and says when
/// its session is ready (`linkReady`); the loop dials, waits, logs and reports.
protocol SupervisedLink: Actor {
    var supervisor: LinkSupervisor { get set }
    var logger: Logger { get }
    /// A link state or a counted error for the conversation (nothing, for the transcriber).
    func report(_ event: BackendEvent)
    /// Dials, runs the connection until it ends, and says why it ended.
    func connectOnce() async -> LinkEnd
    /// The wait before the next dial while it runs: an operator's reconnect cuts it short.
    var backoff: Task<Void, Never>? { get set }
}

extension SupervisedLink {
    /// Dials until the task is cancelled.
    func superviseLink() async {
        while !Task.isCancelled {
            apply(supervisor.dial())
            let end = await connectOnce()
            let wait = apply(supervisor.ended(Task.isCancelled ? .stopped : end, at: .now,
                                              random: .random(in: -1...1)))
            if let wait {
                let sleep = Task { _ = try? await Task.sleep(for: .milliseconds(wait)) }
                backoff = sleep
                await withTaskCancellationHandler { await sleep.value } onCancel: { sleep.cancel() }
                backoff = nil
            }
        }
        apply(supervisor.ended(.stopped, at: .now, random: 0))
    }

    /// An operator's reconnect while the link waits to dial again: dial now, not after the
    /// backoff (an outage's error stays until a session is ready). False when no wait runs,
    /// and the caller ends the connection instead.
    func cutBackoff() -> Bool {
        guard let backoff else { return false }
        backoff.cancel()
        logger.notice("\(supervisor.name): reconnecting now as the operator asked (the wait before the next try cut short)")
        return true
    }

    /// The session is ready: the link is up (and an outage over).
    func linkReady() {
        apply(supervisor.ready(at: .now))
    }

    /// Carries out the supervisor's outputs; returns the wait it asks for.
    @discardableResult
    func apply(_ outputs: [LinkSupervisor.Output]) -> Int? {
        var wait: Int?
        for output in outputs {
            switch output {
            case .link(let state): report(.link(state))
            case .log(let level, let message): logger.log(level: level, "\(message)")
            case .error(let error): report(.error(error))
            case .wait(let milliseconds): wait = milliseconds
            }
        }
        return wait
    }
}
