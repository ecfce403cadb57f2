import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOWebSocket
import WSClient

/// `WebSocketConnector` on hummingbird's WSClient (SwiftNIO, NIOSSL). TLS is verified
/// against the system trust store; `caFile` adds a CA (tests, private proxies); `verifyTLS`
/// false (an explicit config flag) turns verification off and says so on every connect.
///
/// Each connection runs on its own one-thread event loop group: WSClient has no deadline for
/// the TCP/TLS/upgrade handshake and no way to close a channel whose upgrade never answers,
/// but shutting its group down closes it. So a server that accepts and then says nothing
/// costs `handshakeTimeout`, not a socket held forever.
public struct NIOWebSocketConnector: WebSocketConnector {
    let caFile: String?
    let verifyTLS: Bool
    /// backend.allow_insecure: a ws:// connection to another machine says so each time.
    let warnUnencrypted: Bool
    let handshakeTimeout: Duration
    let logger: Logger
    /// Big enough for `session.updated` and long audio deltas (the SDK sets no limit).
    public static let maximumMessageBytes = 16 << 20

    public init(caFile: String? = nil, verifyTLS: Bool = true, warnUnencrypted: Bool = false,
                handshakeTimeout: Duration = .seconds(15), logger: Logger) {
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.warnUnencrypted = warnUnencrypted
        self.handshakeTimeout = handshakeTimeout
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
        if !verifyTLS {
            tls.certificateVerification = .none
            if url.hasPrefix("wss:") {
                logger.warning("TLS certificate verification is OFF (backend.tls_verify = false): \(Self.origin(url)) is not checked")
            }
        }
        if warnUnencrypted && url.hasPrefix("ws:") && !Self.isLoopback(url) {
            logger.warning("unencrypted connection (backend.allow_insecure = true): \(Self.origin(url)) can be read on the way")
        }
        // A peer that never answers close_notify must not hold up a shutdown (NIOSSL waits 5 s).
        tls.shutdownTimeout = .milliseconds(500)
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: Self.maximumMessageBytes, additionalHeaders: fields, autoPing: .enabled(timePeriod: .seconds(30)))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let attempt = Attempt(group: group)
        let connection = Task {  // inherits the task locals that carry the graceful shutdown
            do {
                let close = try await connect(url: url, configuration: configuration, tls: tls, group: group) { sender in
                    attempt.opened()
                    await onOpen(sender)
                } onText: { await onText($0) }
                attempt.finish(.success(close))
            } catch {
                attempt.finish(.failure(error))
            }
            try? await group.shutdownGracefully()
        }
        let deadline = Task {
            try await Task.sleep(for: handshakeTimeout)
            attempt.giveUp(WebSocketConnectError(.timedOut, "no answer to the WebSocket upgrade within \(handshakeTimeout)"))
        }
        defer { deadline.cancel() }
        // A handshake given up on (deadline, or the daemon stopping) is not waited for: its
        // group is shut down, which closes the socket, but WSClient's connect does not always
        // return after that (seen mid-TLS-handshake), so that task is left to end or not.
        let result = await withTaskCancellationHandler {
            await attempt.result()
        } onCancel: {
            // Not open yet: give up. Open: cancel it as if it ran here, which closes the socket.
            if !attempt.giveUp(CancellationError()) { connection.cancel() }
        }
        return try result.get()
    }

    /// One connection attempt's outcome, settled once: by the connection ending, or by giving
    /// up before it opened.
    private final class Attempt: Sendable {
        private struct State {
            var isOpen = false
            var outcome: Result<WebSocketClose, any Error>?
            var waiter: CheckedContinuation<Result<WebSocketClose, any Error>, Never>?
        }
        private let state = NIOLockedValueBox(State())
        private let group: MultiThreadedEventLoopGroup

        init(group: MultiThreadedEventLoopGroup) { self.group = group }

        func opened() { state.withLockedValue { $0.isOpen = true } }

        func finish(_ outcome: Result<WebSocketClose, any Error>) { _ = settle(outcome, unlessOpen: false) }

        /// Ends an attempt that has not opened (true); an open socket is left to its own close.
        @discardableResult
        func giveUp(_ error: any Error) -> Bool {
            guard settle(.failure(error), unlessOpen: true) else { return false }
            group.shutdownGracefully { _ in }
            return true
        }

        private func settle(_ outcome: Result<WebSocketClose, any Error>, unlessOpen: Bool) -> Bool {
            let settled: (Bool, CheckedContinuation<Result<WebSocketClose, any Error>, Never>?) = state.withLockedValue { state in
                guard state.outcome == nil, !(unlessOpen && state.isOpen) else { return (false, nil) }
                state.outcome = outcome
                defer { state.waiter = nil }
                return (true, state.waiter)
            }
            settled.1?.resume(returning: outcome)
            return settled.0
        }

        func result() async -> Result<WebSocketClose, any Error> {
            await withCheckedContinuation { continuation in
                let outcome: Result<WebSocketClose, any Error>? = state.withLockedValue {
                    if $0.outcome == nil { $0.waiter = continuation }
                    return $0.outcome
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        }
    }

    /// scheme://host[:port] of a URL, for log lines (never its query, which may carry a model or key).
    /// 127.0.0.0/8, ::1 or localhost: nothing sent there leaves the machine.
    static func isLoopback(_ url: String) -> Bool {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return false }
        var host = parts[2]
        if host.hasPrefix("[") { return host.hasPrefix("[::1]") }
        if let colon = host.firstIndex(of: ":") { host = host[..<colon] }
        return host == "localhost" || host.hasPrefix("127.")
    }

    static func origin(_ url: String) -> String {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        return parts.count >= 3 ? parts[0...2].joined(separator: "/") : url
    }

    private func connect(url: String, configuration: WebSocketClientConfiguration, tls: TLSConfiguration,
                         group: MultiThreadedEventLoopGroup,
                         onOpen: @escaping @Sendable (any WebSocketSender) async -> Void,
                         onText: @escaping @Sendable (String) async -> Void) async throws -> WebSocketClose {
        let maximum = Self.maximumMessageBytes
        do {
            let frame = try await WebSocketClient.connect(
                url: url, configuration: configuration, tlsConfiguration: tls, eventLoopGroup: group,
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
            throw WebSocketConnectError(.tls, Self.describe(error))
        } catch let error as BoringSSLError {
            throw WebSocketConnectError(.tls, "TLS: \(error)")
        } catch let error as NIOSSLExtraError {
            // "NIOSSLExtraError.failedToValidateHostname: Couldn't find localhost in certificate from peer"
            let words = "\(error)".split(separator: ": ", maxSplits: 1).last.map(String.init) ?? "\(error)"
            throw WebSocketConnectError(.tls, "TLS: " + words)
        } catch let error as WebSocketClientError where error == .serverSentMessageTooLarge {
            throw WebSocketConnectError(.network, "the server sent a message over \(maximum >> 20) MB; closed with 1009")
        } catch let error as WebSocketClientError {
            throw WebSocketConnectError(.network, "\(error)")
        } catch let error as IOError {
            throw WebSocketConnectError(.network, "\(error)")
        } catch let error as ChannelError {
            throw WebSocketConnectError(.network, "\(error)")
        }
    }

    /// BoringSSL's handshake failures print as a list of internal errors with source paths;
    /// the connector's caller asks curl for the words (which check failed, and why).
    static func describe(_ error: NIOSSLError) -> String {
        switch error {
        case .handshakeFailed(let inner) where "\(inner)".contains("CERTIFICATE_VERIFY_FAILED"):
            "TLS: the server's certificate did not verify"
        case .handshakeFailed: "TLS: handshake failed"
        default: "TLS: \(error)"
        }
    }

    struct Sender: WebSocketSender {
        let outbound: WebSocketOutboundWriter
        func send(_ text: String) async throws { try await outbound.write(.text(text)) }
        func close() async { try? await outbound.close(.normalClosure, reason: nil) }
    }
}
