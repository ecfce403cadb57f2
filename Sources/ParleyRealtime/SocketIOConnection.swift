/// The client side of one Socket.IO v5 connection over an Engine.IO v4 WebSocket, as a pure
/// state machine: frames and times in, actions out. The server opens with `0{sid, pingInterval,
/// pingTimeout}`, the client connects the default namespace with `40`, the server answers
/// `40{sid}` (or `44{message}`); from then on the server pings (`2`, answered `3`) and events
/// flow as `42[name, data…]`. A server that misses a ping by `pingTimeout` is gone.
public struct SocketIOConnection: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Waiting for the Engine.IO open packet.
        case opening
        /// Sent `40`, waiting for the server's connect packet.
        case connecting
        case connected(sid: String)
        case closed(reason: String)
    }

    public enum Action: Sendable, Equatable {
        case send(String)
        case connected(sid: String)
        case event(name: String, arguments: [JSONValue])
        /// Close the socket: the server refused or closed the connection.
        case close(reason: String)
    }

    public private(set) var phase: Phase = .opening
    private var pingInterval: Duration = .seconds(25)
    private var pingTimeout: Duration = .seconds(20)
    /// The next ping must arrive before this; unset until the open packet.
    private var pingDeadline: ContinuousClock.Instant?

    public init() {}

    public var isConnected: Bool {
        if case .connected = phase { true } else { false }
    }

    /// One text frame from the server. A frame that does not parse throws and changes nothing.
    public mutating func receive(_ frame: String, at now: ContinuousClock.Instant) throws(EngineIOPacket.Malformed) -> [Action] {
        switch try EngineIOPacket.parse(frame) {
        case .open(_, let interval, let timeout):
            guard phase == .opening else { return [] }
            pingInterval = .milliseconds(interval)
            pingTimeout = .milliseconds(timeout)
            pingDeadline = now + pingInterval + pingTimeout
            phase = .connecting
            return [.send(EngineIOPacket.message(.connect(namespace: "/", data: nil)).frame)]
        case .ping:
            pingDeadline = now + pingInterval + pingTimeout
            return [.send(EngineIOPacket.pong.frame)]
        case .pong, .noop:
            return []
        case .close:
            return close("the server closed the Engine.IO session")
        case .message(let packet):
            return receive(packet)
        }
    }

    private mutating func receive(_ packet: SocketIOPacket) -> [Action] {
        switch packet {
        case .connect(let namespace, let data) where namespace == "/":
            guard phase == .connecting else { return [] }
            let sid = data?["sid"]?.string ?? ""
            phase = .connected(sid: sid)
            return [.connected(sid: sid)]
        case .connectError(let namespace, let message) where namespace == "/":
            return close("the server refused the Socket.IO connection: \(message)")
        case .disconnect(let namespace) where namespace == "/":
            return close("the server disconnected the socket")
        case .event(let namespace, let name, let arguments, let ackID) where namespace == "/" && isConnected:
            var actions: [Action] = [.event(name: name, arguments: arguments)]
            // Nothing we receive needs an answer, but an unanswered ack would hang the server's callback.
            if let ackID { actions.append(.send(EngineIOPacket.message(.ack(namespace: "/", arguments: [], ackID: ackID)).frame)) }
            return actions
        default:
            return []
        }
    }

    /// `emit(name, data)` as a frame; nil until connected (the server would drop it).
    public func emit(_ name: String, _ data: JSONValue) -> String? {
        guard isConnected else { return nil }
        return EngineIOPacket.message(.event(namespace: "/", name: name, arguments: [data], ackID: nil)).frame
    }

    /// Whether the server is overdue: no open packet, or no ping within interval + timeout.
    public mutating func checkAlive(at now: ContinuousClock.Instant, openedAt: ContinuousClock.Instant,
                                    handshakeTimeout: Duration = .seconds(10)) -> [Action] {
        if case .closed = phase { return [] }
        if let pingDeadline, now > pingDeadline {
            return close("no ping from the server for \(pingInterval + pingTimeout)")
        }
        if !isConnected && now - openedAt > handshakeTimeout {
            return close("no Socket.IO handshake within \(handshakeTimeout)")
        }
        return []
    }

    private mutating func close(_ reason: String) -> [Action] {
        phase = .closed(reason: reason)
        return [.close(reason: reason)]
    }
}
