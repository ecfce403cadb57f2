import Testing
@testable import ParleyTransport

/// docs/BACKENDS.md, "agent_routes: status table": one test per row, on both media paths.
@Suite struct AgentRoutesStatusTests {
    /// Socket up and a session joined: ready on the relay's plane.
    func chat() -> AgentRoutesStatus {
        var s = AgentRoutesStatus(callMode: false)
        _ = s.handle(.socket(.connecting))
        _ = s.handle(.socket(.connected))
        _ = s.handle(.joined)
        return s
    }

    /// The same, with the call up and its session created.
    func call() -> AgentRoutesStatus {
        var s = AgentRoutesStatus(callMode: true)
        _ = s.handle(.socket(.connecting))
        _ = s.handle(.socket(.connected))
        _ = s.handle(.joined)
        _ = s.handle(.call(.link(.connecting)))
        _ = s.handle(.call(.session(.creating)))
        _ = s.handle(.call(.link(.connected)))
        _ = s.handle(.call(.session(.created)))
        return s
    }

    func shows(_ s: AgentRoutesStatus) -> String { "\(s.link.rawValue)/\(s.session.rawValue)" }

    @Test func readyOnBothPaths() {
        #expect(shows(chat()) == "connected/created")
        #expect(shows(call()) == "connected/created")
    }

    @Test func socketConnectingAndLost() {
        var s = AgentRoutesStatus(callMode: false)
        #expect(s.handle(.socket(.connecting)) == [.link(.connecting), .session(.terminated)])
        var c = chat()
        #expect(c.handle(.socket(.error)) == [.link(.error), .session(.created)])  // the session lives on the relay
        #expect(c.handle(.socket(.connected)) == [.link(.connected)])
        // With the call up, the socket is only the status plane: its loss does not stop turns.
        var w = call()
        #expect(w.handle(.socket(.error)) == [])
    }

    @Test func sessionStatusCreatingForOurSessionIsShown() {
        var c = chat()
        #expect(c.handle(.sessionStatus(.creating)) == [.session(.creating)])
        #expect(c.handle(.sessionStatus(.created)) == [.session(.created)])
        var w = call()
        #expect(w.handle(.sessionStatus(.creating)) == [.session(.creating)])
        #expect(w.handle(.sessionStatus(.created)) == [.session(.created)])
    }

    /// Regression: with WebRTC media a session_status error or terminated never reached the LEDs.
    @Test func sessionStatusErrorShowsUntilTheReplacementIsJoined() {
        for var s in [chat(), call()] {
            #expect(s.handle(.sessionStatus(.error)) == [.session(.error)])
            #expect(s.handle(.sessionStatus(.creating)) == [])  // the replacement being made: still the error
            #expect(s.handle(.joined) == [.session(.created)])
        }
    }

    @Test func sessionStatusTerminatedShowsUntilTheReplacementIsJoined() {
        for var s in [chat(), call()] {
            #expect(s.handle(.sessionLost(.terminated)) == [.session(.terminated)])
            #expect(s.handle(.sessionStatus(.created)) == [])  // a late word about the old one
            #expect(s.handle(.joined) == [.session(.created)])
        }
    }

    @Test func webRTCStatusOnTheChatPathIsTheLink() {
        var c = chat()
        #expect(c.handle(.webRTCStatus(.connecting)) == [.link(.connecting), .session(.created)])
        #expect(c.handle(.webRTCStatus(.connected)) == [.link(.connected)])
        #expect(c.handle(.webRTCStatus(.error)) == [.link(.error), .session(.created)])
        #expect(c.handle(.webRTCStatus(.connecting)) == [])  // still the error
        #expect(c.handle(.joined) == [.link(.connected)])  // the replacement session
    }

    /// Regression: with WebRTC media a webrtc_status error went connected → connecting → ready
    /// without ever showing the error.
    @Test func webRTCStatusErrorOnTheCallPathShowsUntilTheRedialledCallIsReady() {
        var w = call()
        #expect(w.handle(.webRTCStatus(.error)) == [.link(.error), .session(.created)])
        #expect(w.handle(.call(.link(.connecting))) == [.session(.creating)])  // the call is re-dialled
        #expect(w.link == .error)
        #expect(w.handle(.call(.session(.creating))) == [])
        #expect(w.handle(.call(.link(.connected))) == [])
        #expect(w.handle(.call(.session(.created))) == [.link(.connected), .session(.created)])
    }

    @Test func theCallsOwnStatesAreShownOnTheCallPath() {
        var w = call()
        #expect(w.handle(.call(.link(.error))) == [.link(.error), .session(.creating)])
        #expect(w.handle(.call(.link(.connected))) == [.link(.connected)])
        #expect(w.handle(.call(.session(.created))) == [.session(.created)])
        #expect(w.handle(.call(.link(.offline))) == [.link(.offline), .session(.creating)])
    }

    @Test func beforeTheCallStartsTheRelaysPlaneIsShown() {
        var w = AgentRoutesStatus(callMode: true)
        #expect(w.handle(.socket(.connecting)) == [.link(.connecting), .session(.terminated)])
        #expect(w.handle(.socket(.connected)) == [.link(.connected)])
        #expect(w.handle(.sessionStatus(.creating)) == [.session(.creating)])
        #expect(w.handle(.joined) == [.session(.created)])
    }

    /// Regression: under load the creation's own creating → created arrived after the join
    /// from the REST reply, and the stale "creating" took a renewing device out of ready.
    @Test func theCreationsOwnCreatingArrivingAfterTheJoinIsNotShown() {
        var news = RelaySessionNews()
        #expect(news.read("s2", "creating", ours: "s2", joined: true) == .notShown)
        #expect(news.read("s2", "created", ours: "s2", joined: true) == .shown(.created))
        // Once created was seen, creating means the joined session is being set up again.
        #expect(news.read("s2", "creating", ours: "s2", joined: true) == .shown(.creating))
        // Seen created before the join (the usual order) counts too.
        #expect(news.read("s3", "creating", ours: "s2", joined: true) == .notShown)
        #expect(news.read("s3", "created", ours: "s2", joined: true) == .notShown)
        #expect(news.read("s3", "creating", ours: "s3", joined: true) == .shown(.creating))
        #expect(news.read("s3", "creating", ours: "s3", joined: false) == .notShown)
    }

    @Test func sessionStatusEndsOnlyOurSession() {
        var news = RelaySessionNews()
        #expect(news.read("other", "terminated", ours: "s1", joined: true) == .notShown)
        #expect(news.read("s1", "terminated", ours: "s1", joined: true) == .ended(.terminated))
        #expect(news.read("s1", "error", ours: "s1", joined: false) == .ended(.error))
        #expect(news.read("s1", "", ours: "s1", joined: true) == .malformed)
        #expect(news.read("s1", "paused", ours: "s1", joined: true) == .malformed)
    }
}
