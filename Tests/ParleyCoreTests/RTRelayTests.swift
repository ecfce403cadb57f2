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

    /// Regression: an independent relay's `audio_done` after every answer was logged as
    /// "audio message without audio" and counted as a protocol error.
    @Test func theAudioStreamsDoneMessageEndsTheAnswersAudio() throws {
        #expect(try parse(#"{"type":"audio_done","sessionId":"session_1"}"#, .audio) == .audioDone)
        #expect(try parse(#"{"type":"response.output_audio.done"}"#, .audio) == .audioDone)
        #expect(try parse(#"{"type":"done"}"#, .audio) == .audioDone)
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
    let idle = Duration.milliseconds(1500)

    @Test func anAnswerEndsWhenItsAudioPausesLongerAfterItsTextIsDone() {
        var a = AnswerTracker(idle: idle)
        a.begin(at: t0)
        #expect(!a.isOver(at: t0 + .seconds(5)))  // waiting for the first audio
        do { let r = a.audio(at: t0 + .seconds(1)); #expect(r.play == true && r.first == true) }
        do { let r = a.audio(at: t0 + .milliseconds(1100)); #expect(r.play == true && r.first == false) }
        #expect(!a.isOver(at: t0 + .milliseconds(1500)))
        #expect(a.isOver(at: t0 + .milliseconds(2600)))
        _ = a.done("Echo.")  // text done: a short pause is enough
        #expect(a.isOver(at: t0 + .milliseconds(1400)))
    }

    @Test func anAnswerEndsAtItsAudioDoneMessage() {
        var a = AnswerTracker(idle: idle)
        a.begin(at: t0)
        _ = a.audio(at: t0 + .milliseconds(100))
        #expect(!a.isOver(at: t0 + .milliseconds(200)))
        a.audioEnded()
        #expect(a.isOver(at: t0 + .milliseconds(200)))
    }

    /// Regression: the interrupted answer's audio, still streaming when the next turn went
    /// in, played as that turn's answer (2.9 s of it).
    @Test func anInterruptedAnswersAudioIsDroppedUntilItsOwnEndEvenAcrossTheNextTurn() {
        var a = AnswerTracker(idle: idle)
        a.begin(at: t0)
        _ = a.audio(at: t0)
        let wasActive = a.interrupt(at: t0 + .milliseconds(50))
        #expect(wasActive)
        do { let r = a.audio(at: t0 + .milliseconds(100)); #expect(r.play == false && r.first == false) }
        #expect(!a.isOver(at: t0 + .seconds(10)))
        a.begin(at: t0 + .milliseconds(500))  // the next turn, while the old answer streams on
        do { let r = a.audio(at: t0 + .milliseconds(600)); #expect(r.play == false) }
        a.audioEnded()  // the old answer's audio_done
        a.delta("Old words.")
        #expect(a.done("Old words.") == nil)  // its text: not this turn's transcript
        #expect(!a.isOver(at: t0 + .milliseconds(900)))
        do { let r = a.audio(at: t0 + .milliseconds(900)); #expect(r.play == true && r.first == true) }
        a.delta("New")
        #expect(a.done(nil) == "New")
    }

    @Test func anInterruptedAnswerThatFallsSilentEndsDroppingAfterAPause() {
        var a = AnswerTracker(idle: idle)
        a.begin(at: t0)
        _ = a.audio(at: t0)
        _ = a.interrupt(at: t0 + .milliseconds(50))
        _ = a.audio(at: t0 + .milliseconds(200))  // dropped; no done message ever comes
        a.begin(at: t0 + .seconds(1))
        do { let r = a.audio(at: t0 + .milliseconds(1800)); #expect(r.play == true && r.first == true) }
    }

    @Test func anAnswerWhoseAudioHadEndedLeavesNothingToDrop() {
        var a = AnswerTracker(idle: idle)
        a.begin(at: t0)
        _ = a.audio(at: t0)
        a.audioEnded()
        _ = a.interrupt(at: t0 + .milliseconds(50))  // still playing here, but the relay is done
        a.begin(at: t0 + .milliseconds(300))
        do { let r = a.audio(at: t0 + .milliseconds(400)); #expect(r.play == true && r.first == true) }
    }
}
