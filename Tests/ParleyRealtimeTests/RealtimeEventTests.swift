import Testing
@testable import ParleyRealtime

@Suite struct RealtimeEventTests {
    @Test func audioRoundTripsThroughBase64LittleEndian() {
        let samples: [Int16] = [0, 1, -1, 32767, -32768, 258]
        let text = PCM16.base64(samples[...])
        #expect(text == "AAABAP//" + "/3" + "8AgAIB")
        #expect(PCM16.samples(base64: text) == samples)
        #expect(PCM16.samples(base64: "AA==") == nil)  // one byte: not a sample
        #expect(PCM16.samples(base64: "not base64!") == nil)
    }

    @Test func truncateAndAppendCarryExactlyTheGAFields() {
        let truncate = RealtimeClientEvent.truncate(itemID: "item_7", audioEndMilliseconds: 1500).text()
        #expect(truncate == #"{"audio_end_ms":1500,"content_index":0,"item_id":"item_7","type":"conversation.item.truncate"}"#)
        #expect(RealtimeClientEvent.commitAudio.text() == #"{"type":"input_audio_buffer.commit"}"#)
    }

    @Test func pushToTalkSessionTurnsServerDetectionOffExplicitly() {
        let config = RealtimeSessionConfig(instructions: "Be brief.", voice: "marin", turnDetection: .none,
                                           transcriptionModel: nil, language: "en", noiseReduction: nil)
        let session = config.json
        #expect(session["type"] == "realtime")
        #expect(session["audio"]?["input"]?["turn_detection"] == .null)
        #expect(session["audio"]?["input"]?["transcription"] == .null)
        #expect(session["audio"]?["output"]?["format"] == ["type": "audio/pcm", "rate": 24000])
        #expect(session["tools"] == nil)
    }

    @Test func serverEventsParseOrSayWhatIsMissing() throws {
        #expect(try RealtimeServerEvent.parse(#"{"type":"response.created","response":{"id":"resp_1"}}"#)
                == .responseCreated(responseID: "resp_1"))
        #expect(try RealtimeServerEvent.parse(#"{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AQA="}"#)
                == .audioDelta(responseID: "r", itemID: "i", samples: [1]))
        let error = try RealtimeServerEvent.parse(#"{"type":"error","error":{"type":"invalid_request_error","code":"session_expired","message":"60 minutes"}}"#)
        guard case .error(let e) = error else { Issue.record("not an error"); return }
        #expect(e.endsSession && !e.isAuthFailure)
        #expect(try RealtimeServerEvent.parse(#"{"type":"rate_limits.updated"}"#) == .other(type: "rate_limits.updated"))
        #expect(throws: RealtimeProtocolError("response.output_audio.delta without delta")) {
            try RealtimeServerEvent.parse(#"{"type":"response.output_audio.delta","response_id":"r","item_id":"i"}"#)
        }
        for garbage in ["", "[]", "{}", "{\"type\":7}", "\u{0}"] {
            #expect(throws: RealtimeProtocolError.self) { try RealtimeServerEvent.parse(garbage) }
        }
    }

    @Test func aFunctionCallIsReadFromBothOfItsAnnouncements() throws {
        let call = RealtimeServerEvent.functionCall(responseID: "r", callID: "call_1", name: "set_volume",
                                                    arguments: #"{"percent":40}"#)
        #expect(try RealtimeServerEvent.parse(#"{"type":"response.function_call_arguments.done","response_id":"r","item_id":"i","output_index":0,"call_id":"call_1","name":"set_volume","arguments":"{\"percent\":40}"}"#) == call)
        #expect(try RealtimeServerEvent.parse(#"{"type":"response.output_item.done","response_id":"r","output_index":0,"item":{"id":"i","type":"function_call","call_id":"call_1","name":"set_volume","arguments":"{\"percent\":40}","status":"completed"}}"#) == call)
        // Other items finishing are not function calls.
        #expect(try RealtimeServerEvent.parse(#"{"type":"response.output_item.done","response_id":"r","output_index":0,"item":{"id":"i","type":"message"}}"#) == .other(type: "response.output_item.done"))
    }

    @Test func theWebRTCOnlyEventsParseAndSerialize() throws {
        #expect(try RealtimeServerEvent.parse(#"{"type":"output_audio_buffer.started","response_id":"resp_1"}"#)
                == .outputAudioStarted(responseID: "resp_1"))
        #expect(try RealtimeServerEvent.parse(#"{"type":"output_audio_buffer.stopped","response_id":"resp_1"}"#)
                == .outputAudioStopped(responseID: "resp_1"))
        #expect(try RealtimeServerEvent.parse(#"{"type":"output_audio_buffer.cleared","response_id":"resp_1"}"#)
                == .outputAudioCleared)
        #expect(throws: RealtimeProtocolError.self) { try RealtimeServerEvent.parse(#"{"type":"output_audio_buffer.started"}"#) }
        #expect(RealtimeClientEvent.clearOutputAudio.text() == #"{"type":"output_audio_buffer.clear"}"#)
    }
}
