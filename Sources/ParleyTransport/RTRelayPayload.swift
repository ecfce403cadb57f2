import FoundationEssentials
import ParleyRealtime

/// What the rt session relay's SSE messages (seed 001) mean, read leniently: the seed names
/// the streams but not their JSON, so a message is understood by its fields, not by an
/// exact shape. Pure: tested without a server.
package enum RTRelayPayload: Equatable {
    /// The stream's opening message ("always send an initial message"), keep-alives.
    case hello
    case audio([Int16])
    /// The answer's audio is complete (`audio_done`, `done`, … on the audio stream).
    case audioDone
    case assistantDelta(String)
    /// The assistant's text is complete: the answer is over (as far as text tells).
    case assistantDone(String?)
    case userTranscript(String)
    /// `{error, sessionId}` on a stream.
    case error(String)

    package enum Stream: String, CaseIterable {
        case audio
        case transcripts
        case userTranscripts = "user-transcripts"
    }

    package struct Malformed: Error, Equatable, CustomStringConvertible {
        package let description: String
    }

    private static let helloTypes: Set<String> = ["connected", "ready", "ping", "heartbeat", "open", "start", "started"]
    private static let doneTypes: Set<String> = ["done", "completed", "complete", "end", "response.done",
                                                 "response.output_audio_transcript.done", "transcript.done"]

    /// A message type that ends something: a done word, or one ending in `_done`/`.done`/`_end`.
    private static func isDone(_ type: String) -> Bool {
        doneTypes.contains(type) || type.hasSuffix("_done") || type.hasSuffix(".done") || type.hasSuffix("_end")
            || type.hasSuffix(".end") || type.hasSuffix("_complete") || type.hasSuffix(".completed")
    }

    /// One SSE event of `stream`. Audio: base64 PCM16 24 kHz, bare or in `audio`/`delta`/`data`/`chunk`.
    /// Text: `delta` (a piece), `text`/`transcript` (whole), a done type (the end).
    package static func parse(_ event: SSEParser.Event, stream: Stream) throws(Malformed) -> RTRelayPayload {
        let trimmed = event.data.trimmingWhitespace
        let object: [String: JSONValue]? = if case .object(let o)? = JSONValue.parse(trimmed) { o } else { nil }
        let type = (object?["type"]?.string ?? (event.type == "message" ? "" : event.type)).lowercased()
        if let error = object?["error"] {
            return .error(error.string ?? error["message"]?.string ?? error.text())
        }
        if helloTypes.contains(type) || trimmed.isEmpty { return .hello }
        switch stream {
        case .audio:
            let field = object.flatMap { o in ["audio", "delta", "data", "chunk"].lazy.compactMap { o[$0]?.string }.first }
            if object != nil && field == nil {
                if isDone(type) { return .audioDone }
                throw Malformed(description: "audio message without audio: \(trimmed.prefix(80))")
            }
            let base64 = field ?? trimmed
            guard let samples = PCM16.samples(base64: base64) else {
                throw Malformed(description: "audio is not base64 PCM16: \(base64.prefix(40))…")
            }
            return .audio(samples)
        case .transcripts:
            guard let object else { return .assistantDelta(event.data) }  // plain text deltas
            if isDone(type) {
                return .assistantDone((object["text"] ?? object["transcript"])?.string)
            }
            if let delta = object["delta"]?.string { return .assistantDelta(delta) }
            if let text = (object["text"] ?? object["transcript"])?.string { return .assistantDone(text) }
            throw Malformed(description: "transcript message without text: \(trimmed.prefix(80))")
        case .userTranscripts:
            guard let object else { return .userTranscript(event.data) }
            if let text = (object["transcript"] ?? object["text"] ?? object["delta"])?.string {
                return .userTranscript(text)
            }
            throw Malformed(description: "user transcript message without text: \(trimmed.prefix(80))")
        }
    }
}
