import ParleyRealtime
import ParleyWebSocket

/// A Socket.IO client over the WebSocket connector (the Engine.IO `websocket` transport from
/// the start, no polling): runs one connection at a time, answers pings, notices a server
/// that stopped pinging, hands events over in order and emits while connected.
actor SocketIOClient {
    struct Handlers: Sendable {
        var connected: @Sendable () async -> Void
        var event: @Sendable (_ name: String, _ arguments: [JSONValue]) async -> Void
        /// A frame that is not Engine.IO/Socket.IO; the connection goes on.
        var malformed: @Sendable (_ error: String) async -> Void
    }

    private let connector: any WebSocketConnector
    private var sender: (any WebSocketSender)?
    private var state = SocketIOConnection()
    private var openedAt = ContinuousClock.now

    init(connector: any WebSocketConnector) {
        self.connector = connector
    }

    /// `ws(s)://host/socket.io/?EIO=4&transport=websocket&…` for an http(s) base URL.
    static func url(base: String, query: [(String, String)]) -> String {
        var base = base.trimmingSuffix("/")
        if base.hasPrefix("https://") { base = "wss://" + base.dropFirst(8) }
        if base.hasPrefix("http://") { base = "ws://" + base.dropFirst(7) }
        let extra = query.map { "&\($0.0)=\($0.1.urlComponentEncoded)" }
        return base + "/socket.io/?EIO=4&transport=websocket" + extra.joined()
    }

    /// One connection, until it closes: returns why (the server's words, a missed ping, or
    /// the close frame). Throws when the WebSocket cannot be opened.
    func run(url: String, handlers: Handlers) async throws -> String {
        state = SocketIOConnection()
        openedAt = .now
        let watchdog = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await self?.checkAlive()
            }
        }
        defer {
            watchdog.cancel()
            sender = nil
        }
        let close = try await connector.run(
            url: url, headers: [],
            onOpen: { sender in await self.opened(sender) },
            onText: { text in await self.received(text, handlers) })
        if case .closed(let reason) = state.phase { return reason }
        return "socket \(close)"
    }

    func emit(_ name: String, _ data: JSONValue) async -> Bool {
        guard let frame = state.emit(name, data), let sender else { return false }
        do { try await sender.send(frame) } catch { return false }
        return true
    }

    func close() async {
        await sender?.close()
    }

    private func opened(_ sender: any WebSocketSender) {
        self.sender = sender
        openedAt = .now
    }

    private func received(_ text: String, _ handlers: Handlers) async {
        let actions: [SocketIOConnection.Action]
        do { actions = try state.receive(text, at: .now) } catch {
            await handlers.malformed(error.description)
            return
        }
        await perform(actions, handlers)
    }

    private func checkAlive() async {
        await perform(state.checkAlive(at: .now, openedAt: openedAt), nil)
    }

    private func perform(_ actions: [SocketIOConnection.Action], _ handlers: Handlers?) async {
        for action in actions {
            switch action {
            case .send(let frame): try? await sender?.send(frame)
            case .connected: await handlers?.connected()
            case .event(let name, let arguments): await handlers?.event(name, arguments)
            case .close: await sender?.close()
            }
        }
    }
}
