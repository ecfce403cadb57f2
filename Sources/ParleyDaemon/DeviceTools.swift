import ParleyAudio
import ParleyConfig
import ParleyCore
import ParleyHTTP
import ParleyRealtime
import ParleyTransport

/// The functions the assistant may call: the built-ins (this device's state, its volume)
/// and the customer's HTTP tools from config. Every outcome, failures included, is an
/// output the model can put into words.
struct DeviceTools: ToolRunner {
    let settings: ToolSettings
    let device: DeviceSettings
    let engine: AudioEngine
    let backendName: String
    let http: HTTPClient

    /// Definitions for `session.update`.
    static func definitions(_ settings: ToolSettings) -> [JSONValue] {
        var tools: [JSONValue] = []
        if settings.builtins {
            tools.append(Self.function("device_status",
                                       "The voice device's own state: connection, audio, volume, microphone mute.",
                                       ["type": "object", "properties": [:]]))
            tools.append(Self.function("set_volume", "Set the device's speaker volume in percent (0-100).",
                                       ["type": "object", "required": ["percent"],
                                        "properties": ["percent": ["type": "integer", "minimum": 0, "maximum": 100]]]))
        }
        for tool in settings.http {
            tools.append(Self.function(tool.name, tool.description, JSONValue.parse(tool.parameters) ?? [:]))
        }
        return tools
    }

    private static func function(_ name: String, _ description: String, _ parameters: JSONValue) -> JSONValue {
        ["type": "function", "name": .string(name), "description": .string(description), "parameters": parameters]
    }

    func run(_ call: ToolCall, device snapshot: DeviceSnapshot) async -> ToolResult {
        guard let arguments = JSONValue.parse(call.arguments.isEmpty ? "{}" : call.arguments), case .object = arguments else {
            return .failure("the arguments of \(call.name) are not a JSON object")
        }
        if settings.builtins {
            switch call.name {
            case "device_status": return deviceStatus(snapshot)
            case "set_volume": return setVolume(arguments)
            default: break
            }
        }
        guard let tool = settings.http.first(where: { $0.name == call.name }) else {
            return .failure("unknown function \(call.name)")
        }
        return await post(tool, call: call, arguments: arguments)
    }

    private func deviceStatus(_ snapshot: DeviceSnapshot) -> ToolResult {
        let state = snapshot.state
        var status: [String: JSONValue] = [
            "device_id": .string(device.id), "backend": .string(backendName),
            "link": .string(state.link.rawValue), "session": .string(state.session.rawValue),
            "audio": .string(state.audioLost ? "device lost, reopening" : "ok"),
            "microphone_muted": .bool(state.muted), "volume_percent": .int(engine.volumePercent),
            "turns": .int(snapshot.stats.turns),
        ]
        if let error = snapshot.stats.lastError { status["last_error"] = .string(error) }
        return ToolResult(output: JSONValue.object(status).text())
    }

    private func setVolume(_ arguments: JSONValue) -> ToolResult {
        guard let percent = arguments["percent"]?.int, (0...100).contains(percent) else {
            return .failure("set_volume needs percent, a whole number from 0 to 100")
        }
        let problems = engine.setVolume(percent: percent)
        guard problems.isEmpty else { return .failure(problems.joined(separator: "; ")) }
        return ToolResult(output: JSONValue.object(["volume_percent": .int(percent)]).text())
    }

    /// POSTs `{name, call_id, arguments, device}`; a 2xx body is the output, anything else a failure.
    private func post(_ tool: ToolSettings.HTTPTool, call: ToolCall, arguments: JSONValue) async -> ToolResult {
        let body: JSONValue = [
            "name": .string(call.name), "call_id": .string(call.callID), "arguments": arguments,
            "device": ["id": .string(device.id), "fleet": .string(device.fleet), "site": .string(device.site),
                       "technician_id": .string(device.technicianID), "technician_name": .string(device.technicianName)],
        ]
        let request = HTTPRequest(method: "POST", url: tool.url,
                                  headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                                  body: Array(body.text().utf8), timeoutMilliseconds: tool.timeoutMilliseconds,
                                  maximumResponseBytes: 256 * 1024)
        do {
            let response = try await http.perform(request)
            guard (200..<300).contains(response.status) else {
                return .failure("\(tool.name): the tool server answered \(response.status): \(response.text.prefix(300))")
            }
            return ToolResult(output: response.body.isEmpty ? "{}" : response.text)
        } catch {
            return .failure("\(tool.name): \(error)")
        }
    }
}
