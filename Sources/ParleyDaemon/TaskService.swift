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

