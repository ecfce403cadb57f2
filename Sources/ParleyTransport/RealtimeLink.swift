/// How one Realtime session's events travel: a WebSocket (audio inside the events) or a
/// WebRTC call (audio on media tracks, events on a data channel). The OpenAI backend speaks
/// the same GA events over either.
public protocol RealtimeLink: Sendable {
    /// Audio travels as media: microphone audio goes to `sendAudio`, answers come to `onAudio`.
    var audioAsMedia: Bool { get }
    /// Connects and runs until the link ends (returns how) or cannot be made (throws
    /// `RealtimeLinkError`). `onOpen` gets the sender once events can flow.
    func run(onOpen: @escaping @Sendable (any RealtimeLinkSender) async -> Void,
             onText: @escaping @Sendable (String) async -> Void,
             onAudio: @escaping @Sendable ([Int16]) async -> Void) async throws -> RealtimeLinkEnd
}

public protocol RealtimeLinkSender: Sendable {
    func send(_ text: String) async throws
    /// Microphone audio, 24 kHz mono (links with `audioAsMedia` only).
    func sendAudio(_ samples: [Int16]) async
    /// Ends the link; `run` returns.
    func close() async
}

/// How a link ended: `normal` is logged as a notice, `failed` is an outage (error LED, backoff).
public enum RealtimeLinkEnd: Sendable, Equatable {
    case normal(String)
    case failed(String)
}

/// Why a link could not be made, worded for the log; `isAuth`: the credentials were refused
/// (retry at the slowest pace).
public struct RealtimeLinkError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public let isAuth: Bool

    public init(_ description: String, isAuth: Bool = false) {
        self.description = description
        self.isAuth = isAuth
    }
}
