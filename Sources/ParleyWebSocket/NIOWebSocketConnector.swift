import HTTPTypes
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import WSClient

/// `WebSocketConnector` on hummingbird's WSClient (SwiftNIO, NIOSSL). TLS is verified
/// against the system trust store; `caFile` adds a CA (tests, private proxies).
public struct NIOWebSocketConnector: WebSocketConnector {
    let eventLoopGroup: any EventLoopGroup
    let caFile: String?
    let logger: Logger
    /// Big enough for `session.updated` and long audio deltas (the SDK sets no limit).
    public static let maximumMessageBytes = 16 << 20

    public init(eventLoopGroup: any EventLoopGroup, caFile: String? = nil, logger: Logger) {
        self.eventLoopGroup = eventLoopGroup
        self.caFile = caFile
        self.logger = logger
    }

    public func run(url: String, headers: [(name: String, value: String)],
                    onOpen: @escaping @Sendable (any WebSocketSender) async -> Void,
                    onText: @escaping @Sendable (String) async -> Void) async throws -> WebSocketClose {
        var fields = HTTPFields()
        for (name, value) in headers {
            guard let field = HTTPField.Name(name) else { throw WebSocketConnectError(.invalidURL, "bad header name \(name)") }
            fields[field] = value
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.additionalTrustRoots = [.file(caFile)] }
        // A peer that never answers close_notify must not hold up a shutdown (NIOSSL waits 5 s).
        tls.shutdownTimeout = .milliseconds(500)
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: Self.maximumMessageBytes, additionalHeaders: fields, autoPing: .enabled(timePeriod: .seconds(30)))
        let maximum = Self.maximumMessageBytes
        do {
            let frame = try await WebSocketClient.connect(
                url: url, configuration: configuration, tlsConfiguration: tls, eventLoopGroup: eventLoopGroup,
                logger: logger
            ) { inbound, outbound, _ in
                await onOpen(Sender(outbound: outbound))
                for try await message in inbound.messages(maxSize: maximum) {
                    if case .text(let text) = message { await onText(text) }
                }
            }
            return WebSocketClose(code: frame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }, reason: frame?.reason)
        } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
            throw WebSocketConnectError(.upgradeRefused, "the server refused the WebSocket upgrade")
        } catch let error as WebSocketClientError where error == .invalidURL {
            throw WebSocketConnectError(.invalidURL, "invalid URL \(url)")
        } catch let error as NIOSSLError {
            throw WebSocketConnectError(.tls, "TLS: \(error)")
        } catch let error as BoringSSLError {
            throw WebSocketConnectError(.tls, "TLS: \(error)")
        } catch let error as WebSocketClientError {
            throw WebSocketConnectError(.network, "\(error)")
        } catch let error as IOError {
            throw WebSocketConnectError(.network, "\(error)")
        } catch let error as ChannelError {
            throw WebSocketConnectError(.network, "\(error)")
        }
    }

    struct Sender: WebSocketSender {
        let outbound: WebSocketOutboundWriter
        func send(_ text: String) async throws { try await outbound.write(.text(text)) }
        func close() async { try? await outbound.close(.normalClosure, reason: nil) }
    }
}
