import ParleyRealtime

/// Agent C's WebSocket events (seed 004), read and built. Pure: tested without a server.
/// The seed names the fields it uses; anything else in an event is ignored.
package enum AgentCEvent: Equatable {
    /// `agent_list`: the agents' keys, in the server's order.
    case agentList([String])
    case avatarList
    case agentConfigured
    /// `interaction` {started, id}: one interaction at a time.
    case interaction(started: Bool, id: String?)
    /// `text_delta` {role, content}.
    case textDelta(role: String, content: String)
    case thoughtDelta
    case completion
    case historyDelta
    /// `error` {message}.
    case error(String)
    /// Any other type (avatar events, the server's additions): ignored, never fatal.
    case other(String)

    package struct Malformed: Error, Equatable, CustomStringConvertible {
        package let description: String
    }

    package static func parse(_ text: String) throws(Malformed) -> AgentCEvent {
        guard let event = JSONValue.parse(text), case .object = event, let type = event["type"]?.string else {
            throw Malformed(description: "not a JSON object with a type: \(text.prefix(80))")
        }
        switch type {
        case "agent_list":
            guard case .array(let agents)? = event["agents"] else {
                throw Malformed(description: "agent_list without an agents array")
            }
            return .agentList(agents.compactMap(agentKey))
        case "avatar_list": return .avatarList
        case "agent_configuration_changed": return .agentConfigured
        case "interaction":
            guard case .bool(let started)? = event["started"] else {
                throw Malformed(description: "interaction without started")
            }
            return .interaction(started: started, id: event["id"]?.string ?? event["id"]?.int.map(String.init))
        case "text_delta":
            return .textDelta(role: event["role"]?.string ?? "assistant", content: event["content"]?.string ?? "")
        case "thought_delta": return .thoughtDelta
        case "completion": return .completion
        case "history_delta": return .historyDelta
        case "error":
            return .error(event["message"]?.string ?? event["error"]?.string ?? "unspecified error")
        default: return .other(type)
        }
    }

    /// An agent is named by its key; lists carry objects (`key`, else `agent_key`, `id`, `name`) or bare strings.
    private static func agentKey(_ agent: JSONValue) -> String? {
        if let key = agent.string { return key }
        return ["key", "agent_key", "id", "name"].lazy.compactMap { agent[$0]?.string }.first
    }

    static func setAgent(_ key: String) -> String {
        JSONValue.object(["type": "set_agent", "agent_key": .string(key)]).text()
    }

    static func textInput(_ text: String) -> String {
        JSONValue.object(["type": "text_input", "text": .string(text), "file_ids": .array([])]).text()
    }
}
