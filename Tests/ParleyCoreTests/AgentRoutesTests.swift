import Testing
@testable import ParleyTransport

@Suite struct AgentRoutesTests {
    @Test func theRelaysErrorBodyIsKeptInTheFailureWords() {
        let failure = RelayFailure(status: 400, method: "POST", url: "http://relay/api/agent/v1/realtime/sessions",
                                   body: #"{"error":"Bad request","message":"model not allowed","details":"gpt-x is off"}"#)
        #expect(failure.message == "POST /api/agent/v1/realtime/sessions: HTTP 400 Bad request: model not allowed (gpt-x is off)")
        #expect(failure.kind == .server && !failure.retriable)
        let seed001 = RelayFailure(status: 503, method: "POST", url: "http://relay/api/rt/audio-append?x=1",
                                   body: #"{"error":"Session not active","sessionId":"session_1"}"#)
        #expect(seed001.message == "POST /api/rt/audio-append: HTTP 503 Session not active")
        #expect(seed001.sessionGone && seed001.retriable)
        let html = RelayFailure(status: 502, method: "GET", url: "http://relay/api/agent/health", body: "<html>bad gateway</html>")
        #expect(html.message == "GET /api/agent/health: HTTP 502 <html>bad gateway</html>" && html.retriable)
        #expect(RelayFailure(status: 401, method: "GET", url: "u", body: "{}").kind == .auth)
        #expect(RelayFailure(status: 429, method: "GET", url: "u", body: "{}").retriable)
        #expect(RelayFailure(.connection, "refused").retriable)
        #expect(!RelayFailure(.protocol, "no id").retriable)
    }

    @Test func theSocketURLCarriesTheUserIDEscaped() {
        #expect(SocketIOClient.url(base: "https://relay.example.com/", query: [("userId", "van 4&2")])
                == "wss://relay.example.com/socket.io/?EIO=4&transport=websocket&userId=van%204%262")
        #expect(SocketIOClient.url(base: "http://127.0.0.1:8080", query: [("userId", "tech-1")])
                == "ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket&userId=tech-1")
    }

    @Test func sessionTimesParseWithOrWithoutFractions() {
        #expect(AgentRoutesAPI.date("2025-05-10T13:00:00Z") != nil)
        #expect(AgentRoutesAPI.date("2025-05-10T13:00:00.123Z") != nil)
        #expect(AgentRoutesAPI.date("tomorrow") == nil)
    }
}
