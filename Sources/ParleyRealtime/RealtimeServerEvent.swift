/// The GA server events Parley acts on; everything else is `.other(type)` (logged at debug).
public enum RealtimeServerEvent: Sendable, Equatable {
    case sessionCreated(expiresAt: Int?)
    case sessionUpdated
    case error(RealtimeError)
    case speechStarted
    case speechStopped
    case committed(itemID: String)
    case responseCreated(responseID: String)
    case audioDelta(responseID: String, itemID: String, samples: [Int16])
    case audioTranscriptDone(itemID: String, transcript: String)
    case inputTranscriptDone(itemID: String, transcript: String)
    case inputTranscriptFailed(itemID: String, message: String)
    /// From `response.function_call_arguments.done` and again from `response.output_item.done`
    /// (the server sends both for one call: dispatch once per call id).
    case functionCall(responseID: String, callID: String, name: String, arguments: String)
    case responseDone(responseID: String, status: String)
    /// WebRTC only: the server started or stopped playing a response's audio on the media
    /// track, or emptied its output buffer (after output_audio_buffer.clear).
    case outputAudioStarted(responseID: String)
    case outputAudioStopped(responseID: String)
    case outputAudioCleared
    case other(type: String)

    /// Parses one text frame; a frame that is not a well-formed event is a `RealtimeProtocolError`
    /// naming the type and the missing field, so it can be logged and survived.
    public static func parse(_ text: String) throws(RealtimeProtocolError) -> RealtimeServerEvent {
        guard let event = JSONValue.parse(text), case .object = event else {
            throw RealtimeProtocolError("not a JSON object: \(text.prefix(120))")
        }
        guard let type = event["type"]?.string else { throw RealtimeProtocolError("event without a type: \(text.prefix(120))") }
        func field(_ name: String) throws(RealtimeProtocolError) -> String {
            guard let value = event[name]?.string else { throw RealtimeProtocolError("\(type) without \(name)") }
            return value
        }
        switch type {
        case "session.created": return .sessionCreated(expiresAt: event["session"]?["expires_at"]?.int)
        case "session.updated": return .sessionUpdated
        case "error":
            let error = event["error"]
            return .error(RealtimeError(type: error?["type"]?.string ?? "unknown", code: error?["code"]?.string,
                                        message: error?["message"]?.string ?? "", eventID: error?["event_id"]?.string))
        case "input_audio_buffer.speech_started": return .speechStarted
        case "input_audio_buffer.speech_stopped": return .speechStopped
        case "input_audio_buffer.committed": return .committed(itemID: try field("item_id"))
        case "response.created":
            guard let id = event["response"]?["id"]?.string else { throw RealtimeProtocolError("response.created without response.id") }
            return .responseCreated(responseID: id)
        case "response.output_audio.delta":
            guard let samples = PCM16.samples(base64: try field("delta")) else {
                throw RealtimeProtocolError("response.output_audio.delta with a delta that is not base64 PCM16")
            }
            return .audioDelta(responseID: try field("response_id"), itemID: try field("item_id"), samples: samples)
        case "response.output_audio_transcript.done":
            return .audioTranscriptDone(itemID: try field("item_id"), transcript: try field("transcript"))
        case "conversation.item.input_audio_transcription.completed":
            return .inputTranscriptDone(itemID: try field("item_id"), transcript: try field("transcript"))
        case "conversation.item.input_audio_transcription.failed":
            return .inputTranscriptFailed(itemID: try field("item_id"),
                                          message: event["error"]?["message"]?.string ?? "transcription failed")
        case "response.function_call_arguments.done":
            return .functionCall(responseID: try field("response_id"), callID: try field("call_id"),
                                 name: try field("name"), arguments: try field("arguments"))
        case "response.output_item.done":
            guard let item = event["item"], item["type"]?.string == "function_call" else { return .other(type: type) }
            guard let call = item["call_id"]?.string, let name = item["name"]?.string,
                  let arguments = item["arguments"]?.string else {
                throw RealtimeProtocolError("response.output_item.done with a function_call item without call_id, name or arguments")
            }
            return .functionCall(responseID: try field("response_id"), callID: call, name: name, arguments: arguments)
        case "output_audio_buffer.started": return .outputAudioStarted(responseID: try field("response_id"))
        case "output_audio_buffer.stopped": return .outputAudioStopped(responseID: try field("response_id"))
        case "output_audio_buffer.cleared": return .outputAudioCleared
        case "response.done":
            let response = event["response"]
            guard let id = response?["id"]?.string else { throw RealtimeProtocolError("response.done without response.id") }
            return .responseDone(responseID: id, status: response?["status"]?.string ?? "unknown")
        default:
            return .other(type: type)
        }
    }
}

public struct RealtimeError: Sendable, Equatable, CustomStringConvertible {
    public var type: String
    public var code: String?
    public var message: String
    public var eventID: String?

    public init(type: String, code: String?, message: String, eventID: String?) {
        self.type = type
        self.code = code
        self.message = message
        self.eventID = eventID
    }

    public var description: String { "\(code ?? type): \(message)" }

    /// The session cannot go on: reconnect (expiry) or stop and show an error (auth, shape).
    public var endsSession: Bool {
        ["session_expired", "invalid_api_key", "beta_api_shape_disabled", "model_not_found"].contains(code ?? "")
    }

    public var isAuthFailure: Bool { code == "invalid_api_key" || type == "authentication_error" }
}

public struct RealtimeProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
