import ParleyRealtime
import Testing
@testable import ParleyTransport

@Suite struct RealtimeTurnTests {
    @Test func appendsLeaveInWholeChunksAfterAClearAndTheRestWithTheCommit() {
        var turn = RealtimeTurn()
        let first = turn.handle(.append([Int16](repeating: 1, count: 1000)), chunkSamples: 480)
        #expect(first.map(\.type) == ["input_audio_buffer.clear", "input_audio_buffer.append", "input_audio_buffer.append"])
        let end = turn.handle(.commit, chunkSamples: 480)
        #expect(end == [.appendAudio([Int16](repeating: 1, count: 40)[...]), .commitAudio, .createResponse])
    }

    @Test func bargeInCancelsTruncatesToPlayedAndQueuesTheNextResponse() {
        var turn = RealtimeTurn()
        _ = turn.handle(.text("story"), chunkSamples: 480)
        let created = turn.responseCreated("resp_1")
        #expect(created.current)
        let received = turn.audioDelta(response: "resp_1", item: "item_1", samples: 24000)  // 1 s
        #expect(received)
        // Played 1.4 s? Never more than received.
        let cancel = turn.handle(.cancelResponse(playedMilliseconds: 1400), chunkSamples: 480)
        #expect(cancel == [.cancelResponse, .truncate(itemID: "item_1", audioEndMilliseconds: 1000)])
        let late = turn.audioDelta(response: "resp_1", item: "item_1", samples: 2400)
        #expect(!late)  // late audio of the cancelled response is dropped
        _ = turn.handle(.append([Int16](repeating: 0, count: 4800)), chunkSamples: 480)
        // The cancelled response is not done yet: no second response.create until it is.
        let commit = turn.handle(.commit, chunkSamples: 480)
        #expect(commit.last == .commitAudio)
        let (current, next) = turn.responseDone("resp_1")
        #expect(!current && next == [.createResponse])
    }

    @Test func aCancelBeforeTheServerCreatedTheResponseCancelsItOnArrival() {
        var turn = RealtimeTurn()
        _ = turn.handle(.text("hi"), chunkSamples: 480)
        let cancel = turn.handle(.cancelResponse(playedMilliseconds: 0), chunkSamples: 480)
        #expect(cancel == [.cancelResponse])
        let created = turn.responseCreated("resp_9")
        #expect(!created.current && created.next == [.cancelResponse])
    }

    @Test func aFunctionCallIsDispatchedOnceAndItsOutputAsksForTheAnswerAfterTheCallingResponse() {
        var turn = RealtimeTurn()
        _ = turn.handle(.commit, chunkSamples: 480)
        _ = turn.responseCreated("resp_1")
        let first = turn.functionCall(response: "resp_1", callID: "call_1")
        let repeated = turn.functionCall(response: "resp_1", callID: "call_1")  // output_item.done repeats it
        #expect(first && !repeated)
        // The output arrives before the calling response is done: response.create waits for it.
        let output = turn.handle(.toolOutput(callID: "call_1", output: "{}", respond: true), chunkSamples: 480)
        #expect(output == [.functionCallOutput(callID: "call_1", output: "{}")])
        let done = turn.responseDone("resp_1")
        #expect(done.current && done.next == [.createResponse])
        let noAnswer = turn.handle(.toolOutput(callID: "call_2", output: "{}", respond: false), chunkSamples: 480)
        #expect(noAnswer == [.functionCallOutput(callID: "call_2", output: "{}")])
    }

    @Test func aCancelledResponsesFunctionCallIsNotDispatched() {
        var turn = RealtimeTurn()
        _ = turn.handle(.text("x"), chunkSamples: 480)
        _ = turn.responseCreated("resp_1")
        _ = turn.handle(.cancelResponse(playedMilliseconds: 0), chunkSamples: 480)
        let dispatched = turn.functionCall(response: "resp_1", callID: "call_1")
        #expect(!dispatched)
    }

    @Test func overWebRTCAudioIsMediaAndBargeInClearsTheServersOutput() {
        var turn = RealtimeTurn(audioAsMedia: true)
        let first = turn.handle(.append([Int16](repeating: 1, count: 1000)), chunkSamples: 480)
        #expect(first == [.clearAudio])  // the audio itself goes on the track
        let more = turn.handle(.append([Int16](repeating: 1, count: 1000)), chunkSamples: 480)
        #expect(more.isEmpty)
        let commit = turn.handle(.commit, chunkSamples: 480)
        #expect(commit == [.commitAudio, .createResponse])
        let created = turn.responseCreated("resp_1")
        let started = turn.outputAudioStarted("resp_1")
        #expect(created.current && started)
        // The answer is done generating but still plays: a barge-in clears the output buffer only.
        _ = turn.responseDone("resp_1")
        let cancel = turn.handle(.cancelResponse(playedMilliseconds: 800), chunkSamples: 480)
        #expect(cancel == [.clearOutputAudio])
        let stopped = turn.outputAudioStopped("resp_1")
        #expect(!stopped)  // already cleared
    }

    @Test func overWebRTCACancelledResponseNeverStartsPlaying() {
        var turn = RealtimeTurn(audioAsMedia: true)
        _ = turn.handle(.text("hi"), chunkSamples: 480)
        let created = turn.responseCreated("resp_1")
        let cancel = turn.handle(.cancelResponse(playedMilliseconds: 0), chunkSamples: 480)
        let started = turn.outputAudioStarted("resp_1")
        #expect(created.current && cancel == [.cancelResponse] && !started)
    }
}
