/// The GA client events Parley sends (openai.types.realtime). Beta shapes are retired:
/// the server answers them with `beta_api_shape_disabled` and close 4000.
public enum RealtimeClientEvent: Sendable, Equatable {
    case sessionUpdate(RealtimeSessionConfig)
    /// A transcription session (`intent=transcription`): push-to-talk, text out only.
    case transcriptionSessionUpdate(model: String, language: String)
    case appendAudio(ArraySlice<Int16>)
    case commitAudio
    case clearAudio
    case createResponse
    case cancelResponse
    case truncate(itemID: String, audioEndMilliseconds: Int)
    /// WebRTC only: stop playing the current answer on the media track (after response.cancel).
    case clearOutputAudio
    case userText(String)
    case functionCallOutput(callID: String, output: String)

    public var type: String {
        switch self {
        case .sessionUpdate, .transcriptionSessionUpdate: "session.update"
        case .appendAudio: "input_audio_buffer.append"
        case .commitAudio: "input_audio_buffer.commit"
        case .clearAudio: "input_audio_buffer.clear"
        case .createResponse: "response.create"
        case .cancelResponse: "response.cancel"
        case .truncate: "conversation.item.truncate"
        case .clearOutputAudio: "output_audio_buffer.clear"
        case .userText, .functionCallOutput: "conversation.item.create"
        }
    }

    public var json: JSONValue {
        var event: [String: JSONValue] = ["type": .string(type)]
        switch self {
        case .sessionUpdate(let config): event["session"] = config.json
        case .transcriptionSessionUpdate(let model, let language):
            event["session"] = ["type": "transcription", "audio": ["input": [
                "format": ["type": "audio/pcm", "rate": 24000], "turn_detection": .null,
                "transcription": ["model": .string(model), "language": .string(language)]]]]
        case .appendAudio(let samples): event["audio"] = .string(PCM16.base64(samples))
        case .commitAudio, .clearAudio, .createResponse, .cancelResponse, .clearOutputAudio: break
        case .truncate(let item, let end):
            event["item_id"] = .string(item)
            event["content_index"] = 0
            event["audio_end_ms"] = .int(end)
        case .userText(let text):
            event["item"] = ["type": "message", "role": "user",
                             "content": [["type": "input_text", "text": .string(text)]]]
        case .functionCallOutput(let call, let output):
            event["item"] = ["type": "function_call_output", "call_id": .string(call), "output": .string(output)]
        }
        return .object(event)
    }

    public func text() -> String { json.text() }
}

/// What `session.update` sets (GA shape: `type: realtime`, `audio.input/output`).
public struct RealtimeSessionConfig: Sendable, Equatable {
    public enum TurnDetection: Sendable, Equatable {
        /// Push-to-talk: the client commits.
        case none
        case serverVAD
        case semanticVAD

        /// From the `ptt.vad_kind` name, or nil for push-to-talk.
        public init(handsFree kind: String?) {
            switch kind {
            case nil: self = .none
            case "server_vad": self = .serverVAD
            default: self = .semanticVAD
            }
        }
    }

    public var instructions: String
    public var voice: String
    public var turnDetection: TurnDetection
    public var transcriptionModel: String?
    public var language: String
    /// "near_field", "far_field", or nil for off.
    public var noiseReduction: String?
    /// Function definitions: name, description, JSON-schema parameters.
    public var tools: [JSONValue]

    public init(instructions: String, voice: String, turnDetection: TurnDetection, transcriptionModel: String?,
                language: String, noiseReduction: String?, tools: [JSONValue] = []) {
        self.instructions = instructions
        self.voice = voice
        self.turnDetection = turnDetection
        self.transcriptionModel = transcriptionModel
        self.language = language
        self.noiseReduction = noiseReduction
        self.tools = tools
    }

    public var json: JSONValue {
        let pcm: JSONValue = ["type": "audio/pcm", "rate": 24000]
        var input: [String: JSONValue] = ["format": pcm]
        switch turnDetection {
        case .none: input["turn_detection"] = .null
        // The button still interrupts; the server answers when the technician stops talking.
        case .serverVAD: input["turn_detection"] = ["type": "server_vad", "create_response": true, "interrupt_response": true]
        case .semanticVAD: input["turn_detection"] = ["type": "semantic_vad", "create_response": true, "interrupt_response": true]
        }
        input["transcription"] = transcriptionModel.map { ["model": .string($0), "language": .string(language)] } ?? .null
        input["noise_reduction"] = noiseReduction.map { ["type": .string($0)] } ?? .null
        var session: [String: JSONValue] = [
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": .string(instructions),
            "audio": ["input": .object(input), "output": ["format": pcm, "voice": .string(voice)]],
        ]
        if !tools.isEmpty {
            session["tools"] = .array(tools)
            session["tool_choice"] = "auto"
        }
        return .object(session)
    }
}
