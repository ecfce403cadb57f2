import NIOCore
import ServiceLifecycle

/// Accepts connections until the daemon shuts down gracefully, serving each in its own
/// child task; the listening channel closes on the way out. Shared by the local servers.
func acceptUntilShutdown<Connection: Sendable>(
    _ server: NIOAsyncChannel<Connection, Never>, serve: @escaping @Sendable (Connection) async -> Void
) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        }
    } catch is CancellationError {
        // Shutdown: the listener closes.
    }
}
