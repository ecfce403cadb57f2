import Foundation
import Testing
@testable import ParleyControlProtocol

@Suite struct ControlRequestTests {
    func decode(_ text: String) throws(ControlProtocolError) -> ControlRequest {
        try ControlRequest.decode(Data(text.utf8))
    }

    @Test func everyRequestSurvivesARoundTrip() throws {
        let all: [ControlRequest] = [.status, .ptt(.press), .ptt(.release), .ptt(.tap), .say("is the pump on"),
                                     .button(.cancel, .tap), .button(.volumeUp, .press), .volume(percent: 40), .mute(true), .mute(false), .reconnect, .metrics]
        for request in all {
            #expect(try ControlRequest.decode(request.encoded()) == request)
        }
        #expect(String(decoding: ControlRequest.ptt(.press).encoded(), as: UTF8.self) == #"{"action":"press","command":"ptt"}"#)
    }

    @Test func badRequestsSayWhatIsAccepted() {
        #expect(throws: ControlProtocolError(#"ptt needs "action": press, release or tap"#)) { try decode(#"{"command":"ptt"}"#) }
        #expect(throws: ControlProtocolError(#"volume needs "percent" from 0 to 100"#)) {
            try decode(#"{"command":"volume","percent":101}"#)
        }
        #expect(throws: ControlProtocolError(#"button needs "button": volume_up, volume_down, cancel"#)) {
            try decode(#"{"command":"button","button":"ptt","action":"tap"}"#)
        }
        #expect(throws: ControlProtocolError(#"button needs "action": press, release or tap"#)) {
            try decode(#"{"command":"button","button":"cancel"}"#)
        }
        #expect(throws: ControlProtocolError(#"say needs a non-empty "text""#)) { try decode(#"{"command":"say","text":"  "}"#) }
        #expect(throws: ControlProtocolError(#"mute needs "on": true or false"#)) { try decode(#"{"command":"mute","on":"yes"}"#) }
        let unknown = #expect(throws: ControlProtocolError.self) { try decode(#"{"command":"reboot"}"#) }
        #expect(unknown?.description.hasPrefix(#"unknown command "reboot" (commands: status, ptt"#) == true)
        for garbage in ["", "[]", "{", "null", #"{"cmd":"status"}"#, "\u{0}\u{1}"] {
            #expect(throws: ControlProtocolError.self) { try decode(garbage) }
        }
    }

    @Test func repliesRoundTrip() throws {
        let reply = ControlReply(ok: true, message: "ptt pressed", metrics: ["parley_turns_total": 3])
        #expect(try ControlReply.decode(reply.encoded()) == reply)
        #expect(throws: ControlProtocolError.self) { try ControlReply.decode(Data("nope".utf8)) }
    }
}
