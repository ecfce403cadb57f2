import Testing
@testable import ParleyRealtime

@Suite struct SocketIOPacketTests {
    @Test func engineIOPacketsOfAWebSocketSession() throws {
        #expect(try EngineIOPacket.parse(#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
                == .open(sid: "lv_VI97HAXpY6yYWAAAC", pingIntervalMilliseconds: 25000, pingTimeoutMilliseconds: 20000))
        #expect(try EngineIOPacket.parse("2") == .ping)
        #expect(EngineIOPacket.pong.frame == "3")
        #expect(try EngineIOPacket.parse("1") == .close)
        #expect(throws: EngineIOPacket.Malformed.self) { try EngineIOPacket.parse("0{}") }
        #expect(throws: EngineIOPacket.Malformed.self) { try EngineIOPacket.parse("9") }
        #expect(throws: EngineIOPacket.Malformed.self) { try EngineIOPacket.parse("") }
    }

    @Test func socketIOEventsAcksAndNamespacesRoundTrip() throws {
        let status = try EngineIOPacket.parse(#"42["session_status",{"sessionId":"sess_1","status":"created"}]"#)
        #expect(status == .message(.event(namespace: "/", name: "session_status",
                                          arguments: [["sessionId": "sess_1", "status": "created"]], ackID: nil)))
        let join = SocketIOPacket.event(namespace: "/", name: "join_session", arguments: [["sessionId": "sess_1"]], ackID: nil)
        #expect(EngineIOPacket.message(join).frame == #"42["join_session",{"sessionId":"sess_1"}]"#)
        let acked = try SocketIOPacket.parse(#"2/admin,12["ping",1]"#)
        #expect(acked == .event(namespace: "/admin", name: "ping", arguments: [1], ackID: 12))
        #expect(try SocketIOPacket.parse(acked.text) == acked)
        #expect(try SocketIOPacket.parse(#"313["ok"]"#) == .ack(namespace: "/", arguments: ["ok"], ackID: 13))
    }

    @Test func connectReplyErrorAndBadPackets() throws {
        #expect(try SocketIOPacket.parse(#"0{"sid":"abc"}"#) == .connect(namespace: "/", data: ["sid": "abc"]))
        #expect(SocketIOPacket.connect(namespace: "/", data: nil).text == "0")
        #expect(try SocketIOPacket.parse(#"4{"message":"Not authorized"}"#) == .connectError(namespace: "/", message: "Not authorized"))
        #expect(try SocketIOPacket.parse("1") == .disconnect(namespace: "/"))
        #expect(throws: SocketIOPacket.Malformed.self) { try SocketIOPacket.parse(#"2{"not":"an array"}"#) }
        #expect(throws: SocketIOPacket.Malformed.self) { try SocketIOPacket.parse("2[42]") }
        #expect(throws: SocketIOPacket.Malformed.self) { try SocketIOPacket.parse(#"51-["bin",{"_placeholder":true,"num":0}]"#) }
        #expect(throws: SocketIOPacket.Malformed.self) { try SocketIOPacket.parse("2[broken") }
    }
}

@Suite struct SocketIOConnectionTests {
    let start = ContinuousClock.now

    func connected() throws -> SocketIOConnection {
        var connection = SocketIOConnection()
        _ = try connection.receive(#"0{"sid":"e1","pingInterval":1000,"pingTimeout":500}"#, at: start)
        _ = try connection.receive(#"40{"sid":"s1"}"#, at: start)
        return connection
    }

    @Test func handshakeConnectsTheDefaultNamespaceAndAnswersPings() throws {
        var connection = SocketIOConnection()
        #expect(connection.emit("join_session", ["sessionId": "x"]) == nil)  // not connected yet
        let open = try connection.receive(#"0{"sid":"e1","upgrades":[],"pingInterval":1000,"pingTimeout":500}"#, at: start)
        #expect(open == [.send("40")])
        #expect(try connection.receive(#"42["session_status",{}]"#, at: start) == [])  // events before the connect are not ours
        #expect(try connection.receive(#"40{"sid":"s1"}"#, at: start) == [.connected(sid: "s1")])
        #expect(connection.phase == .connected(sid: "s1"))
        #expect(try connection.receive("2", at: start) == [.send("3")])
        #expect(connection.emit("join_session", ["sessionId": "x"]) == #"42["join_session",{"sessionId":"x"}]"#)
    }

    @Test func eventsAreHandedOverAndAcksAnswered() throws {
        var connection = try connected()
        #expect(try connection.receive(#"42["webrtc_status",{"status":"error"}]"#, at: start)
                == [.event(name: "webrtc_status", arguments: [["status": "error"]])])
        #expect(try connection.receive(#"427["error",{"message":"m"}]"#, at: start)
                == [.event(name: "error", arguments: [["message": "m"]]), .send("437[]")])
        #expect(try connection.receive(#"42/admin,["error",{}]"#, at: start) == [])  // another namespace
        #expect(throws: EngineIOPacket.Malformed.self) { try connection.receive("42[oops", at: start) }
        #expect(connection.isConnected)  // a bad frame changes nothing
    }

    @Test func aServerThatStopsPingingIsNoticed() throws {
        var connection = try connected()
        #expect(connection.checkAlive(at: start + .milliseconds(1400), openedAt: start) == [])
        _ = try connection.receive("2", at: start + .milliseconds(1400))  // the deadline moves on
        #expect(connection.checkAlive(at: start + .milliseconds(2800), openedAt: start) == [])
        let late = connection.checkAlive(at: start + .milliseconds(3000), openedAt: start)
        #expect(late == [.close(reason: "no ping from the server for 1.5 seconds")])
        #expect(connection.checkAlive(at: start + .seconds(9), openedAt: start) == [])  // closed once
    }

    @Test func refusalsDisconnectsAndSilentServersClose() throws {
        var refused = SocketIOConnection()
        _ = try refused.receive(#"0{"sid":"e1"}"#, at: start)
        #expect(try refused.receive(#"44{"message":"userId query parameter required"}"#, at: start)
                == [.close(reason: "the server refused the Socket.IO connection: userId query parameter required")])
        var dropped = try connected()
        #expect(try dropped.receive("41", at: start) == [.close(reason: "the server disconnected the socket")])
        var closed = try connected()
        #expect(try closed.receive("1", at: start) == [.close(reason: "the server closed the Engine.IO session")])
        var silent = SocketIOConnection()
        #expect(silent.checkAlive(at: start + .seconds(11), openedAt: start)
                == [.close(reason: "no Socket.IO handshake within 10.0 seconds")])
    }
}
