import Testing
import FoundationEssentials
@testable import ParleyWebRTC

@Suite struct SessionDescriptionTests {
    static let answer = """
        v=0\r
        o=- 1 1 IN IP4 0.0.0.0\r
        s=-\r
        t=0 0\r
        a=fingerprint:sha-256 ab:cd:ef\r
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r
        a=fingerprint:sha-512 00:11\r
        a=setup:active\r

        """

    @Test func ourFingerprintReplacesWhatWebrtcbinWrote() {
        let patched = SessionDescription.replacingFingerprint(in: Self.answer, with: "01:02")
        #expect(patched.components(separatedBy: "a=fingerprint:sha-256 01:02").count == 3)  // both lines
        #expect(!patched.contains("ab:cd:ef"))
        #expect(patched.hasSuffix("a=setup:active\r\n"))
    }

    @Test func onlySHA256FingerprintsCountUpperCased() {
        #expect(SessionDescription.fingerprints(in: Self.answer) == ["AB:CD:EF"])
        #expect(SessionDescription.fingerprints(in: "v=0\r\na=fingerprint:sha-1 00\r\n") == nil)
        #expect(SessionDescription.fingerprints(in: "v=0\na=fingerprint:sha-256 aa:bb\n") == ["AA:BB"])  // bare \n
    }
}

@Suite struct MessageReassemblerTests {
    @Test func wholeMessagesPassAsTheyAre() {
        var joiner = MessageReassembler()
        let output = joiner.feed(Array(#"{"type":"session.created","x":"}{\""}"#.utf8))
        #expect(output == .message(#"{"type":"session.created","x":"}{\""}"#))
    }

    @Test func piecesCutAnywhereEvenInsideAUTF8SequenceJoinBack() {
        let text = #"{"type":"t","transcript":""# + String(repeating: "é€ \\\"}{", count: 20000) + #""}"#
        let bytes = Array(text.utf8)
        var joiner = MessageReassembler()
        var outputs: [MessageReassembler.Output] = []
        for start in stride(from: 0, to: bytes.count, by: 66119) {  // odd size: splits multibyte characters
            outputs.append(joiner.feed(bytes[start..<min(start + 66119, bytes.count)]))
        }
        #expect(outputs.dropLast().allSatisfy { $0 == .partial })
        #expect(outputs.last == .message(text))
        let next = joiner.feed(Array(#"{"a":1}"#.utf8))
        #expect(next == .message(#"{"a":1}"#))  // and it starts afresh
    }

    @Test func notJSONOrTooLongIsRefusedAndForgotten() {
        var joiner = MessageReassembler(limit: 100)
        guard case .invalid = joiner.feed(Array("hello".utf8)) else { Issue.record("text accepted"); return }
        guard case .invalid = joiner.feed(Array(("{\"a\":\"" + String(repeating: "x", count: 200)).utf8)) else {
            Issue.record("over the limit accepted"); return
        }
        let next = joiner.feed(Array(#"{"b":2}"#.utf8))
        #expect(next == .message(#"{"b":2}"#))
    }
}
