/// The small WebSocket surface the backends need, so they are testable and the client
/// library can change: connect with headers, send text, receive text, see the close code.
public protocol WebSocketConnector: Sendable {
    /// Connects and runs until the socket closes (returns how) or fails (throws).
    /// `onOpen` gets the sender once the upgrade succeeded; `onText` gets each text message in order.
    func run(url: String, headers: [(name: String, value: String)],
             onOpen: @escaping @Sendable (any WebSocketSender) async -> Void,
             onText: @escaping @Sendable (String) async -> Void) async throws -> WebSocketClose
}

public protocol WebSocketSender: Sendable {
    func send(_ text: String) async throws
    /// Closes with 1000 (normal); the run returns.
    func close() async
}

/// How the server (or we) closed the socket; nil code when there was no close frame.
public struct WebSocketClose: Sendable, Equatable, CustomStringConvertible {
    public var code: Int?
    public var reason: String?

    public init(code: Int?, reason: String?) {
        self.code = code
        self.reason = reason
    }

    public var description: String {
        guard let code else { return "closed without a close frame" }
        return "closed with \(code)" + (reason.map { $0.isEmpty ? "" : " (\($0))" } ?? "")
    }
}

public struct WebSocketConnectError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case upgradeRefused, tls, network, invalidURL, timedOut }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
