import Logging
import NIOCore
import ParleyConfig
import ParleyCore
import ParleyHTTP
import ParleyRealtime
import ParleySpeech
import ParleyTransport
import ParleyWebSocket
#if WebRTC
import ParleyWebRTC
#endif

/// Builds the configured backend. A build without WebRTC never gets a WebRTC configuration
/// here unless its helper is missing (`WebRTCHandoff`); then it is refused (EX_CONFIG).
struct BackendFactory {
    /// Why the configured backend cannot start; the daemon exits 78 with it.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let settings: ParleySettings
    let logger: Logger

    /// The largest message webrtcbin 1.22 sends on a data channel (it announces no
    /// max-message-size; `WebRTCPeer.maxMessageBytes`).
    static let dataChannelMaximumBytes = 65536

    /// Whether this build has the WebRTC backends (the WebRTC trait).
    static var hasWebRTC: Bool {
        #if WebRTC
        true
        #else
        false
        #endif
    }

    /// Whether turns travel over a WebRTC call, whose data channel carries `session.update`.
    var usesDataChannel: Bool { WebRTCHandoff.needed(settings) }

    /// What check-config and the start both refuse: a session.update (the instructions, the
    /// device context and the functions) too large for the data channel — sent, it would fail
    /// and the call be re-dialled forever.
    func sessionProblem() -> String? {
        guard usesDataChannel else { return nil }
        let bytes = RealtimeClientEvent.sessionUpdate(sessionConfig()).text().utf8.count
        guard bytes > Self.dataChannelMaximumBytes else { return nil }
        return "backend.openai.instructions: the session.update they make (with the device context and the functions) is \(bytes) bytes, "
            + "over the WebRTC data channel's \(Self.dataChannelMaximumBytes); shorten the instructions or the tools' descriptions by \(bytes - Self.dataChannelMaximumBytes) bytes or more"
    }

    func make() throws(Failure) -> any VoiceBackend {
        let backend = settings.backend
        if let problem = sessionProblem() { throw Failure(description: problem) }
        switch backend.kind {
        case .echo:
            let speech = settings.speech
            return EchoBackend(delayMilliseconds: backend.echoDelayMilliseconds) { try Self.voice(speech) }
        case .openai:
            let openAI = backend.openAI
            guard let key = openAI.apiKey else { throw Failure(description: "backend.openai.api_key_file: no key read") }
            let link = WebSocketRealtimeLink(url: openAI.url, model: openAI.model, apiKey: key.reveal(),
                                             connector: connector(caFile: openAI.caFile), probe: http(caFile: openAI.caFile))
            return OpenAIRealtimeBackend(settings: realtimeSettings(), link: link, logger: logger)
        #if WebRTC
        case .openaiWebRTC:
            let openAI = backend.openAI
            guard let apiKey = openAI.apiKey?.reveal() else { throw Failure(description: "backend.openai.api_key_file: no key read") }
            let key: WebRTCSignaling.CallKey = openAI.ephemeralKeyURL.map { .ephemeral(url: $0, apiKey: apiKey, model: openAI.model) }
                ?? .apiKey(apiKey)
            return webRTCBackend(.openAICalls(url: openAI.callsURL, key: key), caFile: openAI.caFile)
        case .office:
            return webRTCBackend(.office(baseURL: backend.relay.baseURL, model: backend.relay.model))
        case .training:
            return webRTCBackend(.training(baseURL: backend.relay.baseURL, token: backend.relay.credential?.reveal() ?? ""))
        #endif
        case .rtRelay:
            let relay = backend.relay
            return RTRelayBackend(
                settings: .init(baseURL: relay.baseURL, provider: relay.provider, model: relay.model,
                                apiKey: relay.credential?.reveal(), appendChunkMilliseconds: relay.appendChunkMilliseconds,
                                responseIdleMilliseconds: relay.responseIdleMilliseconds,
                                reconnectInitialMilliseconds: backend.reconnectInitialMilliseconds,
                                reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds),
                http: http(), logger: logger)
        case .agentC:
            let relay = backend.relay
            return AgentCBackend(
                settings: .init(url: relay.baseURL, token: relay.credential?.reveal() ?? "", agent: relay.agent,
                                reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds),
                connector: connector(), probe: http(), voice: try voice(), transcription: transcription(), logger: logger)
        case .agentRoutes:
            let relay = backend.relay
            return AgentRoutesBackend(
                settings: .init(baseURL: relay.baseURL, userID: relay.userID, model: relay.model, chatModel: relay.chatModel,
                                instructions: relay.instructions + "\n\nContext: " + deviceContext() + ".",
                                reconnectInitialMilliseconds: backend.reconnectInitialMilliseconds,
                                reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds),
                connector: connector(), http: http(), voice: try voice(), transcription: transcription(),
                call: try agentRoutesCall(), logger: logger)
        #if !WebRTC
        default:
            throw Failure(description: WebRTCHandoff.unavailable(settings))
        #endif
        }
    }

    /// The Realtime session's settings, whichever link carries it.
    private func realtimeSettings() -> OpenAIRealtimeBackend.Settings {
        let backend = settings.backend
        return .init(name: backend.kind.rawValue, session: sessionConfig(),
                     appendChunkMilliseconds: backend.openAI.appendChunkMilliseconds,
                     reconnectInitialMilliseconds: backend.reconnectInitialMilliseconds,
                     reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds,
                     sessionRefreshSeconds: backend.openAI.sessionRefreshSeconds,
                     stallTimeoutMilliseconds: backend.stallTimeoutMilliseconds)
    }

    #if WebRTC
    private var peerSettings: WebRTCPeer.Settings {
        .init(localAddresses: settings.backend.webRTC.localAddresses, latencyMilliseconds: settings.backend.webRTC.jitterMilliseconds)
    }
    #endif

    /// Before READY, with a WebRTC backend: GStreamer and everything a call loads, warmed by
    /// an offer made and dropped, so the first call (dialled at start) takes what later ones
    /// do (0.25 s → 0.13 s on the aiortc peer). A failure is left for that call to report.
    func prepare() async {
        #if WebRTC
        guard usesDataChannel else { return }
        try? await WebRTCPeer.prepare(settings: peerSettings)
        #endif
    }

    #if WebRTC
    /// A Realtime session on a WebRTC call, its offer sent by `route`.
    private func webRTCBackend(_ route: WebRTCSignaling.Route, caFile: String? = nil) -> OpenAIRealtimeBackend {
        let backend = settings.backend
        let name = backend.kind.rawValue
        let logger = logger
        let link = WebRTCRealtimeLink(
            signaling: WebRTCSignaling(route: route, timeoutMilliseconds: backend.stallTimeoutMilliseconds),
            peer: peerSettings,
            connectTimeout: .milliseconds(backend.stallTimeoutMilliseconds), http: http(caFile: caFile),
            onCall: { callID, milliseconds in logger.info("\(name): call \(callID ?? "open") connected in \(milliseconds) ms") })
        return OpenAIRealtimeBackend(settings: realtimeSettings(), link: link, logger: logger)
    }
    #endif

    /// agent_routes with media = webrtc: the call through the relay.
    private func agentRoutesCall() throws(Failure) -> OpenAIRealtimeBackend? {
        let relay = settings.backend.relay
        guard relay.media == "webrtc" else { return nil }
        #if WebRTC
        return webRTCBackend(.agentRoutes(baseURL: relay.baseURL, userID: relay.userID, model: relay.model))
        #else
        throw Failure(description: WebRTCHandoff.unavailable(settings))
        #endif
    }

    /// The on-device voice of the text backends.
    private func voice() throws(Failure) -> SpeechSynthesizer { try Self.voice(settings.speech) }

    private static func voice(_ speech: SpeechSettings) throws(Failure) -> SpeechSynthesizer {
        do { return try SpeechSynthesizer(voice: speech.voice, wordsPerMinute: speech.wordsPerMinute) } catch {
            throw Failure(description: "speech.voice: \(error)")
        }
    }

    /// The backend's WebSocket connections: TLS checked unless backend.tls_verify = false,
    /// which the connector warns about on every connect.
    private func connector(caFile: String? = nil) -> NIOWebSocketConnector {
        NIOWebSocketConnector(caFile: caFile, verifyTLS: settings.backend.tlsVerify,
                              warnUnencrypted: settings.backend.allowInsecure, handshakeTimeout: .milliseconds(settings.backend.stallTimeoutMilliseconds), logger: logger)
    }

    /// The backend's HTTP requests. Each is its own connection, many a second for a relay's
    /// audio uploads: with TLS unchecked, or plain http:// to another machine allowed, the
    /// warning is one line a minute with the count.
    private func http(caFile: String? = nil) -> HTTPClient {
        var client = HTTPClient(caFile: caFile, verifyTLS: settings.backend.tlsVerify)
        if !settings.backend.tlsVerify {
            let warning = ThrottledWarning(logger: logger)
            client.onInsecureConnection = { origin in
                warning.happened { "TLS certificate verification is OFF (backend.tls_verify = false): \($0) connection(s) to \(origin) not checked" }
            }
        }
        if settings.backend.allowInsecure {
            let warning = ThrottledWarning(logger: logger)
            client.onPlainConnection = { origin in
                guard case .success(let url) = ConfigURL.parse(origin), !url.isLoopback else { return }
                warning.happened { "unencrypted (backend.allow_insecure = true): \($0) connection(s) to \(origin) could be read on the way" }
            }
        }
        return client
    }

    /// Spoken turns of the text backends, when a transcription key is configured.
    private func transcription() -> TranscriptionEndpoint? {
        let relay = settings.backend.relay
        return relay.transcriptionKey.map {
            (url: relay.transcriptionURL, apiKey: $0.reveal(), model: relay.transcriptionModel, language: relay.language)
        }
    }

    /// Who is talking from where, for the assistant's instructions.
    private func deviceContext() -> String {
        let device = settings.device
        var context = ["device \(device.id)"]
        if !device.site.isEmpty { context.append("site \(device.site)") }
        if !device.technicianName.isEmpty { context.append("technician \(device.technicianName)") }
        return context.joined(separator: ", ")
    }

    func sessionConfig() -> RealtimeSessionConfig {
        let openAI = settings.backend.openAI
        let turnDetection = RealtimeSessionConfig.TurnDetection(handsFree: Conversation.turnDetection(settings.ptt))
        return RealtimeSessionConfig(
            instructions: openAI.instructions + "\n\nContext: " + deviceContext() + ".",
            voice: openAI.voice, turnDetection: turnDetection, transcriptionModel: openAI.transcriptionModel,
            language: openAI.language, noiseReduction: openAI.noiseReduction == "off" ? nil : openAI.noiseReduction,
            tools: DeviceTools.definitions(settings.tools))
    }
}
