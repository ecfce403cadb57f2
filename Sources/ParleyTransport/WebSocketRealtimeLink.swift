import ParleyHTTP
import ParleyRealtime
import ParleyWebSocket

/// The Realtime API over one WebSocket (`wss://…/v1/realtime?model=`, Bearer key): audio
/// travels inside the events. A refused upgrade or a TLS failure is explained over plain
/// HTTP (the WebSocket client does not say why).
public struct WebSocketRealtimeLink: RealtimeLink {
    public let url: String
    public let model: String
    public let apiKey: String
    private let connector: any WebSocketConnector
    private let probe: HTTPClient?

    public init(url: String, model: String, apiKey: String, connector: any WebSocketConnector, probe: HTTPClient? = nil) {
        self.url = url
        self.model = model
        self.apiKey = apiKey
        self.connector = connector
        self.probe = probe
    }

    public var audioAsMedia: Bool { false }

    public func run(onOpen: @escaping @Sendable (any RealtimeLinkSender) async -> Void,
                    onText: @escaping @Sendable (String) async -> Void,
                    onAudio: @escaping @Sendable ([Int16]) async -> Void) async throws -> RealtimeLinkEnd {
        let url = url + (url.contains("?") ? "&" : "?") + "model=" + model
        let close: WebSocketClose
        do {
            close = try await connector.run(url: url, headers: [("Authorization", "Bearer \(apiKey)")],
                                            onOpen: { await onOpen(Sender(socket: $0)) }, onText: onText)
        } catch let error as WebSocketConnectError where error.kind == .upgradeRefused {
            let (why, auth) = await explainRefusal(url: url)
            throw RealtimeLinkError("\(error): \(why)", isAuth: auth)
        } catch let error as WebSocketConnectError where error.kind == .tls {
            throw RealtimeLinkError("\(error)" + (await UpgradeRefusal.tlsReason(url, with: probe).map { " (\($0))" } ?? ""))
        } catch {
            throw RealtimeLinkError("\(error)")
        }
        if close.code == 4000 { return .failed("server refused the API shape (\(close)): this build speaks GA only") }
        return close.code == 1000 ? .normal("socket \(close)") : .failed("socket \(close)")
    }

    /// The status and the API's error (`{"error": {"code", "message"}}`) behind a refused
    /// upgrade; 401/403 mean the key is wrong or lacks access.
    private func explainRefusal(url: String) async -> (String, auth: Bool) {
        let fallback = "check backend.openai.url and the API key"
        guard let refusal = await UpgradeRefusal.probe(url, headers: [("Authorization", "Bearer \(apiKey)")],
                                                       with: probe) else { return (fallback, false) }
        let error = JSONValue.parse(refusal.body)?["error"]
        let detail = [error?["code"]?.string, error?["message"]?.string].compactMap { $0 }.joined(separator: ": ")
        let hint = refusal.isAuth ? " (check the API key in backend.openai.api_key_file or its credential)" : ""
        return ("HTTP \(refusal.status)" + (detail.isEmpty ? "" : " \(detail)") + hint, refusal.isAuth)
    }

    private struct Sender: RealtimeLinkSender {
        let socket: any WebSocketSender
        func send(_ text: String) async throws { try await socket.send(text) }
        func sendAudio(_ samples: [Int16]) async {}
        func close() async { await socket.close() }
    }
}
