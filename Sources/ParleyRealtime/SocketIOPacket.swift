/// Engine.IO v4 and Socket.IO v5 packets as they travel in WebSocket text frames (one
/// Engine.IO packet per frame), for the agent routes relay's status plane (seed 000). Pure.
///
/// Engine.IO: a type digit, then data — `0{"sid","pingInterval","pingTimeout","maxPayload"}`
/// open, `1` close, `2` ping (answer `3` pong), `4<socket.io packet>` message, `6` noop.
/// Socket.IO inside a message: a type digit, `/namespace,` unless it is "/", an optional ack
/// id, then JSON — `0` connect (`{"sid"}` back), `1` disconnect, `2["event", data…]` event,
/// `3` ack, `4{"message"}` connect error; binary packets (`5`, `6`) are not used by the relay.
public enum EngineIOPacket: Equatable, Sendable {
    case open(sid: String, pingIntervalMilliseconds: Int, pingTimeoutMilliseconds: Int)
    case close
    case ping
    case pong
    case message(SocketIOPacket)
    case noop

    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ frame: String) throws(Malformed) -> EngineIOPacket {
        guard let type = frame.first else { throw Malformed(description: "empty Engine.IO packet") }
        let data = String(frame.dropFirst())
        switch type {
        case "0":
            guard let open = JSONValue.parse(data), let sid = open["sid"]?.string else {
                throw Malformed(description: "open packet without a sid: \(frame.prefix(80))")
            }
            return .open(sid: sid, pingIntervalMilliseconds: open["pingInterval"]?.int ?? 25_000,
                         pingTimeoutMilliseconds: open["pingTimeout"]?.int ?? 20_000)
        case "1": return .close
        case "2": return .ping
        case "3": return .pong
        case "4":
            do { return .message(try SocketIOPacket.parse(data)) } catch { throw Malformed(description: error.description) }
        case "6": return .noop
        default: throw Malformed(description: "unknown Engine.IO packet type \(type): \(frame.prefix(80))")
        }
    }

    public var frame: String {
        switch self {
        case .open(let sid, let interval, let timeout):
            "0" + JSONValue.object(["sid": .string(sid), "pingInterval": .int(interval), "pingTimeout": .int(timeout)]).text()
        case .close: "1"
        case .ping: "2"
        case .pong: "3"
        case .message(let packet): "4" + packet.text
        case .noop: "6"
        }
    }
}

public enum SocketIOPacket: Equatable, Sendable {
    case connect(namespace: String, data: JSONValue?)
    case disconnect(namespace: String)
    case event(namespace: String, name: String, arguments: [JSONValue], ackID: Int?)
    case ack(namespace: String, arguments: [JSONValue], ackID: Int)
    case connectError(namespace: String, message: String)

    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Malformed) -> SocketIOPacket {
        guard let type = text.first else { throw Malformed(description: "empty Socket.IO packet") }
        var rest = Substring(text.dropFirst())
        var namespace = "/"
        if rest.first == "/" {
            guard let comma = rest.firstIndex(of: ",") else {
                namespace = String(rest)
                rest = ""
                return try packet(type, namespace, ackID: nil, payload: rest, text)
            }
            namespace = String(rest[..<comma])
            rest = rest[rest.index(after: comma)...]
        }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        let ackID = digits.isEmpty ? nil : Int(digits)
        rest = rest.dropFirst(digits.count)
        return try packet(type, namespace, ackID: ackID, payload: rest, text)
    }

    private static func packet(_ type: Character, _ namespace: String, ackID: Int?, payload: Substring,
                               _ text: String) throws(Malformed) -> SocketIOPacket {
        let json = payload.isEmpty ? nil : JSONValue.parse(String(payload))
        if !payload.isEmpty && json == nil { throw Malformed(description: "Socket.IO payload is not JSON: \(text.prefix(80))") }
        switch type {
        case "0": return .connect(namespace: namespace, data: json)
        case "1": return .disconnect(namespace: namespace)
        case "2", "3":
            guard case .array(let items)? = json else { throw Malformed(description: "Socket.IO \(type == "2" ? "event" : "ack") without an array: \(text.prefix(80))") }
            if type == "3" {
                guard let ackID else { throw Malformed(description: "ack without an id: \(text.prefix(80))") }
                return .ack(namespace: namespace, arguments: items, ackID: ackID)
            }
            guard let name = items.first?.string else { throw Malformed(description: "event without a name: \(text.prefix(80))") }
            return .event(namespace: namespace, name: name, arguments: Array(items.dropFirst()), ackID: ackID)
        case "4":
            return .connectError(namespace: namespace, message: json?["message"]?.string ?? json?.string ?? "connection refused")
        case "5", "6": throw Malformed(description: "binary Socket.IO packets are not supported: \(text.prefix(80))")
        default: throw Malformed(description: "unknown Socket.IO packet type \(type): \(text.prefix(80))")
        }
    }

    public var text: String {
        func prefix(_ type: String, _ namespace: String) -> String { type + (namespace == "/" ? "" : namespace + ",") }
        switch self {
        case .connect(let namespace, let data): return prefix("0", namespace) + (data?.text() ?? "")
        case .disconnect(let namespace): return prefix("1", namespace)
        case .event(let namespace, let name, let arguments, let ackID):
            return prefix("2", namespace) + (ackID.map(String.init) ?? "") + JSONValue.array([.string(name)] + arguments).text()
        case .ack(let namespace, let arguments, let ackID):
            return prefix("3", namespace) + String(ackID) + JSONValue.array(arguments).text()
        case .connectError(let namespace, let message):
            return prefix("4", namespace) + JSONValue.object(["message": .string(message)]).text()
        }
    }
}
