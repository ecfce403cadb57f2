import Logging
import NIOCore
import ParleyConfig
import ParleyCore
import ParleyHTTP
import ParleyRealtime
import ParleySpeech
import ParleyTransport
import ParleyWebSocket

/// Builds the configured backend. Kinds without a transport yet are refused (EX_CONFIG).
struct BackendFactory {
    /// Backend kinds this build can run; the others are documented and validated, and
    /// refused at start with EX_CONFIG until their transport lands.
    static let available: Set<BackendSettings.Kind> = [.echo, .openai, .rtRelay, .agentC, .agentRoutes]

    /// Why the configured backend cannot start; the daemon exits 78 with it.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let settings: ParleySettings
    let logger: Logger

    func make() throws(Failure) -> any VoiceBackend {
        let backend = settings.backend
        switch backend.kind {
        case .echo:
            return EchoBackend(delayMilliseconds: backend.echoDelayMilliseconds)
        case .openai:
            let openAI = backend.openAI
            guard let key = openAI.apiKey else { throw Failure(description: "backend.openai.api_key_file: no key read") }
            return OpenAIRealtimeBackend(
                settings: .init(url: openAI.url, model: openAI.model, apiKey: key.reveal(), session: sessionConfig(),
                                appendChunkMilliseconds: openAI.appendChunkMilliseconds,
                                reconnectInitialMilliseconds: backend.reconnectInitialMilliseconds,
                                reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds,
                                sessionRefreshSeconds: openAI.sessionRefreshSeconds,
                                stallTimeoutMilliseconds: backend.stallTimeoutMilliseconds),
                connector: connector(caFile: openAI.caFile), probe: http(caFile: openAI.caFile),
                logger: logger)
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
                connector: connector(), http: http(), voice: try voice(), transcription: transcription(), logger: logger)
        default:
            throw Failure(description: "backend.kind = \"\(backend.kind.rawValue)\" is not available in this build of parleyd (available: \(Self.available.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
    }

    /// The on-device voice of the text backends.
    private func voice() throws(Failure) -> SpeechSynthesizer {
        do { return try SpeechSynthesizer(voice: settings.speech.voice, wordsPerMinute: settings.speech.wordsPerMinute) } catch {
            throw Failure(description: "speech.voice: \(error)")
        }
    }

    /// The backend's WebSocket connections: TLS checked unless backend.tls_verify = false,
    /// which the connector warns about on every connect.
    private func connector(caFile: String? = nil) -> NIOWebSocketConnector {
        NIOWebSocketConnector(caFile: caFile, verifyTLS: settings.backend.tlsVerify,
                              handshakeTimeout: .milliseconds(settings.backend.stallTimeoutMilliseconds), logger: logger)
    }

    /// The backend's HTTP requests. Each is its own connection, many a second for a relay's
    /// audio uploads: with TLS unchecked the warning is one line a minute with the count.
    private func http(caFile: String? = nil) -> HTTPClient {
        guard !settings.backend.tlsVerify else { return HTTPClient(caFile: caFile) }
        let warning = InsecureConnectionWarning(logger: logger)
        return HTTPClient(caFile: caFile, verifyTLS: false) { warning.connected(to: $0) }
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
