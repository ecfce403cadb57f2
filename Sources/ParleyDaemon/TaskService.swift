import ServiceLifecycle

/// A long-running piece of work as a Service: runs `body` until graceful shutdown
/// cancels it.
struct TaskService: Service, CustomStringConvertible {
    let description: String
    let body: @Sendable () async throws -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
            // Asked to stop: a normal end.
        }
    }
}

/// The first service to hear of a shutdown (services stop in reverse order): tells
/// systemd we are stopping before anything else winds down.
struct StoppingNotice: Service {
    let notifier: SystemdNotifier
    let onStop: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        notifier.stopping()
        onStop()
    }
}
