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
