import ParleyRealtime
import Testing
@testable import ParleyTransport

@Suite struct RTRelayPayloadTests {
    func parse(_ data: String, _ stream: RTRelayPayload.Stream, type: String = "message") throws(RTRelayPayload.Malformed)
        -> RTRelayPayload
    {
        try RTRelayPayload.parse(SSEParser.Event(type: type, data: data), stream: stream)
    }

    @Test func audioInAnyOfItsWrappings() throws {
        let b64 = PCM16.base64([1, -2, 300][...])
        #expect(try parse(#"{"type":"connected","sessionId":"session_1"}"#, .audio) == .hello)
        #expect(try parse(#"{"type":"audio","audio":"\#(b64)"}"#, .audio) == .audio([1, -2, 300]))
        #expect(try parse(#"{"delta":"\#(b64)"}"#, .audio) == .audio([1, -2, 300]))
        #expect(try parse(b64, .audio) == .audio([1, -2, 300]))
        #expect(throws: RTRelayPayload.Malformed.self) { try parse("%%% not base64", .audio) }
        #expect(throws: RTRelayPayload.Malformed.self) { try parse(#"{"type":"audio","level":3}"#, .audio) }
        #expect(try parse(#"{"error":"Session not active","sessionId":"session_1"}"#, .audio) == .error("Session not active"))
    }

    @Test func textDeltasDoneAndUserTranscripts() throws {
        #expect(try parse(#"{"type":"delta","delta":"Echo"}"#, .transcripts) == .assistantDelta("Echo"))
        #expect(try parse(#"{"type":"done","text":"Echo."}"#, .transcripts) == .assistantDone("Echo."))
        #expect(try parse(#"{}"#, .transcripts, type: "done") == .assistantDone(nil))
        #expect(try parse("plain words", .transcripts) == .assistantDelta("plain words"))
        #expect(try parse(#"{"transcript":"is the pump on"}"#, .userTranscripts) == .userTranscript("is the pump on"))
    }
}

@Suite struct AnswerTrackerTests {
    let t0 = ContinuousClock.now

    @Test func anAnswerEndsWhenItsAudioPausesLongerAfterItsTextIsDone() {
        var a = AnswerTracker()
        a.begin(at: t0)
        #expect(!a.isOver(at: t0 + .seconds(5), idle: .milliseconds(1500)))  // waiting for the first audio
        do { let r = a.audio(at: t0 + .seconds(1)); #expect(r.play == true && r.first == true) }
        do { let r = a.audio(at: t0 + .milliseconds(1100)); #expect(r.play == true && r.first == false) }
        #expect(!a.isOver(at: t0 + .milliseconds(1500), idle: .milliseconds(1500)))
        #expect(a.isOver(at: t0 + .milliseconds(2600), idle: .milliseconds(1500)))
        _ = a.done("Echo.")  // text done: a short pause is enough
        #expect(a.isOver(at: t0 + .milliseconds(1400), idle: .milliseconds(1500)))
    }

    @Test func anInterruptedAnswersAudioIsDroppedUntilTheNextTurn() {
        var a = AnswerTracker()
        a.begin(at: t0)
        _ = a.audio(at: t0)
        let wasActive = a.interrupt()
        #expect(wasActive)
        do { let r = a.audio(at: t0 + .milliseconds(100)); #expect(r.play == false && r.first == false) }
        #expect(!a.isOver(at: t0 + .seconds(10), idle: .milliseconds(1500)))
        a.begin(at: t0 + .seconds(1))
        do { let r = a.audio(at: t0 + .seconds(2)); #expect(r.play == true && r.first == true) }
    }
}
