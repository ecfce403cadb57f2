import FoundationEssentials

/// A request on the control socket: one JSON object per line, `{"command": "...", ...}`.
public enum ControlRequest: Sendable, Equatable {
    case status
    case ptt(PTTAction)
    /// The board's other buttons, as if pressed on the device.
    case button(BoardButton, PTTAction)
    /// A typed turn.
    case say(String)
    case volume(percent: Int)
    /// The microphone: nothing leaves the device while muted.
    case mute(Bool)
    case reconnect
    case metrics

    public enum PTTAction: String, Sendable, CaseIterable, Codable {
        case press, release, tap
    }

    /// The optional buttons of a board (`ptt` has its own command).
    public enum BoardButton: String, Sendable, CaseIterable, Codable {
        case volumeUp = "volume_up", volumeDown = "volume_down", cancel
    }

    public static let commands = ["status", "ptt", "button", "say", "volume", "mute", "reconnect", "metrics"]
    /// Longest request line accepted; a `say` text fits many times over.
    public static let maximumLineBytes = 16 * 1024

    private struct Wire: Codable {
        var command: String
        var action: String?
        var button: String?
        var text: String?
        var percent: Int?
        var on: Bool?
    }

    /// The JSON line for this request (no newline).
    public func encoded() -> Data {
        var wire = Wire(command: "")
        switch self {
        case .status: wire.command = "status"
        case .ptt(let action): wire.command = "ptt"; wire.action = action.rawValue
        case .button(let button, let action):
            wire.command = "button"; wire.button = button.rawValue; wire.action = action.rawValue
        case .say(let text): wire.command = "say"; wire.text = text
        case .volume(let percent): wire.command = "volume"; wire.percent = percent
        case .mute(let on): wire.command = "mute"; wire.on = on
        case .reconnect: wire.command = "reconnect"
        case .metrics: wire.command = "metrics"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(wire)) ?? Data()
    }

    /// Parses one line; errors say what was wrong and what is accepted.
    public static func decode(_ line: Data) throws(ControlProtocolError) -> ControlRequest {
        // Fields as whatever JSON they hold, so a wrong type is named rather than the whole
        // line refused.
        guard let fields = try? JSONDecoder().decode([String: Scalar].self, from: line),
              case .string(let command)? = fields["command"] else {
            throw ControlProtocolError("not a request: expected one JSON object per line with a \"command\" (one of \(commands.joined(separator: ", ")))")
        }
        let wire = Wire(command: command, action: fields["action"]?.string, button: fields["button"]?.string,
                        text: fields["text"]?.string,
                        percent: fields["percent"]?.int, on: fields["on"]?.bool)
        switch wire.command {
        case "status": return .status
        case "ptt":
            guard let raw = wire.action, let action = PTTAction(rawValue: raw) else {
                throw ControlProtocolError("ptt needs \"action\": press, release or tap")
            }
            return .ptt(action)
        case "button":
            guard let name = wire.button, let button = BoardButton(rawValue: name) else {
                throw ControlProtocolError("button needs \"button\": \(BoardButton.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let raw = wire.action, let action = PTTAction(rawValue: raw) else {
                throw ControlProtocolError("button needs \"action\": press, release or tap")
            }
            return .button(button, action)
        case "say":
            guard let text = wire.text?.trimmingWhitespace, !text.isEmpty else {
                throw ControlProtocolError("say needs a non-empty \"text\"")
            }
            return .say(text)
        case "volume":
            guard let percent = wire.percent, (0...100).contains(percent) else {
                throw ControlProtocolError("volume needs \"percent\" from 0 to 100")
            }
            return .volume(percent: percent)
        case "mute":
            guard let on = wire.on else { throw ControlProtocolError("mute needs \"on\": true or false") }
            return .mute(on)
        case "reconnect": return .reconnect
        case "metrics": return .metrics
        default:
            throw ControlProtocolError("unknown command \"\(wire.command)\" (commands: \(commands.joined(separator: ", ")))")
        }
    }
}

/// One JSON value of a request field, whatever its type.
private enum Scalar: Decodable {
    case string(String), int(Int), bool(Bool), other

    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let b = try? value.decode(Bool.self) { self = .bool(b) }
        else if let i = try? value.decode(Int.self) { self = .int(i) }
        else if let s = try? value.decode(String.self) { self = .string(s) }
        else { self = .other }
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .int(let i) = self { i } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
}

public struct ControlProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    /// Without leading and trailing whitespace and newlines.
    var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
