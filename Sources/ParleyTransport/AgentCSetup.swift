/// Agent C's session setup (seed 004), pure: wait for `agent_list` and `avatar_list`, send
/// `set_agent`, wait for `agent_configuration_changed` (or an `error`). Avatars are skipped:
/// the device has no screen.
struct AgentCSetup {
    enum Phase: Int, Comparable {
        case lists, configuring, ready
        static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    enum Step: Equatable {
        /// Send set_agent with this key.
        case send(String)
        case ready
        case failed(String)
        /// Not a setup event (or setup is over): the backend handles it.
        case pass
    }

    private(set) var phase = Phase.lists
    private(set) var agents: [String] = []
    private(set) var agent: String?
    private var haveAgents = false
    private var haveAvatars = false
    /// Why the connection is being closed, when setup failed.
    var failure: String?

    var ready: Bool { phase == .ready }

    mutating func receive(_ event: AgentCEvent, wanted: String) -> Step {
        switch (phase, event) {
        case (.lists, .agentList(let keys)):
            agents = keys
            haveAgents = true
        case (.lists, .avatarList):
            haveAvatars = true
        case (.configuring, .agentConfigured):
            phase = .ready
            return .ready
        case (.configuring, .error(let message)):
            failure = "set_agent \(agent ?? "") refused: \(message)"
            return .failed(failure!)
        default:
            return .pass
        }
        guard phase == .lists, haveAgents, haveAvatars else { return .pass }
        let choice = wanted.isEmpty ? agents.first : wanted
        guard let choice else {
            failure = "the server lists no agents"
            return .failed(failure!)
        }
        if !wanted.isEmpty, !agents.isEmpty, !agents.contains(wanted) {
            failure = "agent \"\(wanted)\" (backend.agent_c.agent) is not offered; the server has: \(agents.joined(separator: ", "))"
            return .failed(failure!)
        }
        agent = choice
        phase = .configuring
        return .send(choice)
    }
}
