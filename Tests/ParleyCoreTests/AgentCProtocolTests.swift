import Testing
@testable import ParleyTransport

@Suite struct AgentCProtocolTests {
    @Test func eventsParseByTheSeedsFieldsAndUnknownOnesPass() throws {
        #expect(try AgentCEvent.parse(#"{"type":"agent_list","agents":[{"key":"helpful_assistant","name":"Helper"},"plain"]}"#)
                == .agentList(["helpful_assistant", "plain"]))
        #expect(try AgentCEvent.parse(#"{"type":"interaction","started":true,"id":"i1"}"#) == .interaction(started: true, id: "i1"))
        #expect(try AgentCEvent.parse(#"{"type":"text_delta","role":"assistant","content":"Hi"}"#)
                == .textDelta(role: "assistant", content: "Hi"))
        #expect(try AgentCEvent.parse(#"{"type":"error","message":"bad agent"}"#) == .error("bad agent"))
        #expect(try AgentCEvent.parse(#"{"type":"avatar_connection_changed"}"#) == .other("avatar_connection_changed"))
        #expect(throws: AgentCEvent.Malformed.self) { try AgentCEvent.parse("not json") }
        #expect(throws: AgentCEvent.Malformed.self) { try AgentCEvent.parse(#"{"type":"interaction"}"#) }
    }

    @Test func setupWaitsForBothListsThenSetsTheAgentAndWaitsForItsConfirmation() {
        var setup = AgentCSetup()
        #expect(setup.receive(.agentList(["a", "b"]), wanted: "") == .pass)
        #expect(setup.receive(.avatarList, wanted: "") == .send("a"))  // the server's first
        #expect(!setup.ready)
        #expect(setup.receive(.agentConfigured, wanted: "") == .ready)
        #expect(setup.ready)
        #expect(setup.receive(.error("later"), wanted: "") == .pass)  // after setup: the backend's business
    }

    @Test func anAgentTheServerDoesNotOfferOrARefusalFailsTheSetup() {
        var setup = AgentCSetup()
        _ = setup.receive(.avatarList, wanted: "nope")
        guard case .failed(let why) = setup.receive(.agentList(["a"]), wanted: "nope") else {
            Issue.record("should fail"); return
        }
        #expect(why.contains("backend.agent_c.agent") && why.contains("a"))

        var refused = AgentCSetup()
        _ = refused.receive(.avatarList, wanted: "a")
        #expect(refused.receive(.agentList(["a"]), wanted: "a") == .send("a"))
        #expect(refused.receive(.error("no such agent"), wanted: "a") == .failed("set_agent a refused: no such agent"))
    }

    @Test func clientEventsAreTheSeedsShapes() {
        #expect(AgentCEvent.setAgent("x") == #"{"agent_key":"x","type":"set_agent"}"#)
        #expect(AgentCEvent.textInput("hi") == #"{"file_ids":[],"text":"hi","type":"text_input"}"#)
    }
}
