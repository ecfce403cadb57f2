import FoundationEssentials

/// Link to the backend (seed 000's webrtc_status vocabulary, plus offline).
public enum LinkState: String, Sendable, Equatable, CaseIterable {
    case offline, connecting, connected, error
}

/// The backend session (seed 000's session_status vocabulary).
public enum SessionState: String, Sendable, Equatable, CaseIterable {
    case creating, created, error, terminated
}

/// What a backend reports. Audio is 24 kHz mono PCM16.
public enum BackendEvent: Sendable, Equatable {
    case link(LinkState)
    case session(SessionState)
    case responseStarted
    case audio([Int16])
    case responseDone
    case transcript(role: Role, text: String)
    /// Hands-free (vad) mode: the server heard the technician start or stop talking.
    case speechStarted
    case speechStopped
    /// The assistant calls a function; answer with `BackendCommand.toolOutput`.
    case toolCall(ToolCall)
    /// A problem the backend survived; counted by kind, logged with its context.
    case error(BackendError)
    /// The answer asked for will not come (rate limit, a refused request): the turn ends with
    /// the error cue; the link stays up. Counted and logged like `error`.
    case responseFailed(BackendError)

    public enum Role: String, Sendable { case user, assistant }
}

/// One backend problem, for the log line and the `parley_backend_errors_total{kind}` metric.
public struct BackendError: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Could not connect or lost the connection (refused, DNS, TLS, timeout, cut).
        case connection
        /// The key or token was refused.
        case auth
        case rateLimit = "rate_limit"
        /// The service reported an error (an error event, a 5xx).
        case server
        /// Something arrived that does not parse as the protocol.
        case `protocol`
    }

    public var kind: Kind
    public var message: String
    /// The backend has logged it already (its own wording, once per outage): count only.
    public var logged: Bool

    public init(_ kind: Kind, _ message: String, logged: Bool = false) {
        self.kind = kind
        self.message = message
        self.logged = logged
    }

    public var description: String { message }
}

/// What the conversation asks of a backend.
public enum BackendCommand: Sendable, Equatable {
    /// Microphone audio of the current turn, 24 kHz mono PCM16.
    case append([Int16])
    /// The turn is over: answer it.
    case commit
    /// Drop the audio of the current turn (too short, cancelled).
    case clear
    /// Stop the response in progress; `playedMilliseconds` is what reached the speaker.
    case cancelResponse(playedMilliseconds: Int)
    /// A typed turn.
    case text(String)
    /// A function's result; `respond` asks for the answer that uses it (the last pending call).
    case toolOutput(callID: String, output: String, respond: Bool)
    /// Hands-free turn detection on (`server_vad`/`semantic_vad`) or off (nil: push-to-talk).
    case handsFree(String?)
}

/// One function call from the assistant: `arguments` is the JSON text the model wrote.
public struct ToolCall: Sendable, Equatable {
    public var callID: String
    public var name: String
    public var arguments: String

    public init(callID: String, name: String, arguments: String) {
        self.callID = callID
        self.name = name
        self.arguments = arguments
    }
}

/// One voice backend: connects, keeps the link up, and exchanges commands and events.
/// Every backend (echo, OpenAI, the seed relays) sits behind this.
public protocol VoiceBackend: Sendable {
    var name: String { get }
    var events: AsyncStream<BackendEvent> { get }
    /// Runs the connection until the task is cancelled; reconnecting is the backend's job.
    func run() async throws
    func send(_ command: BackendCommand) async
    /// Drop the connection and connect again (operator request).
    func reconnect() async
}

extension String {
    /// Percent-encoded for a URL path segment or query value: only RFC 3986's unreserved
    /// characters stay as they are.
    var urlComponentEncoded: String {
        var encoded = ""
        for byte in utf8 {
            let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF")
                encoded += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return encoded
    }

    /// Without leading and trailing whitespace and newlines.
    var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }

    /// A base URL without its trailing "/", so relay routes can be appended.
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
