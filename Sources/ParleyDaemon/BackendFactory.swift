import Logging
import NIOCore
import ParleyConfig
import ParleyCore
import ParleyHTTP
import ParleyRealtime
import ParleyTransport
import ParleyWebSocket

/// Builds the configured backend. Kinds without a transport yet are refused (EX_CONFIG).
struct BackendFactory {
    /// Backend kinds this build can run; the others are documented and validated, and
    /// refused at start with EX_CONFIG until their transport lands.
    static let available: Set<BackendSettings.Kind> = [.echo, .openai, .rtRelay]

    let settings: ParleySettings
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    func make() -> (any VoiceBackend)? {
        let backend = settings.backend
        switch backend.kind {
        case .echo:
            return EchoBackend(delayMilliseconds: backend.echoDelayMilliseconds)
        case .openai:
            let openAI = backend.openAI
            guard let key = openAI.apiKey else { return nil }  // validation requires it
            return OpenAIRealtimeBackend(
                settings: .init(url: openAI.url, model: openAI.model, apiKey: key.reveal(), session: sessionConfig(),
                                appendChunkMilliseconds: openAI.appendChunkMilliseconds,
                                reconnectInitialMilliseconds: backend.reconnectInitialMilliseconds,
                                reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds,
                                sessionRefreshSeconds: openAI.sessionRefreshSeconds),
                connector: NIOWebSocketConnector(eventLoopGroup: eventLoopGroup, caFile: openAI.caFile, logger: logger),
                probe: HTTPClient(caFile: openAI.caFile),
                logger: logger)
        case .rtRelay:
            let relay = backend.relay
            return RTRelayBackend(
                settings: .init(baseURL: relay.baseURL, provider: relay.provider, model: relay.model,
                                apiKey: relay.credential?.reveal(), appendChunkMilliseconds: relay.appendChunkMilliseconds,
                                responseIdleMilliseconds: relay.responseIdleMilliseconds,
                                reconnectInitialMilliseconds: backend.reconnectInitialMilliseconds,
                                reconnectMaxMilliseconds: backend.reconnectMaxMilliseconds),
                logger: logger)
        default:
            return nil
        }
    }

    func sessionConfig() -> RealtimeSessionConfig {
        let openAI = settings.backend.openAI
        let device = settings.device
        var context = ["device \(device.id)"]
        if !device.site.isEmpty { context.append("site \(device.site)") }
        if !device.technicianName.isEmpty { context.append("technician \(device.technicianName)") }
        let turnDetection = RealtimeSessionConfig.TurnDetection(handsFree: Conversation.turnDetection(settings.ptt))
        return RealtimeSessionConfig(
            instructions: openAI.instructions + "\n\nContext: " + context.joined(separator: ", ") + ".",
            voice: openAI.voice, turnDetection: turnDetection, transcriptionModel: openAI.transcriptionModel,
            language: openAI.language, noiseReduction: openAI.noiseReduction == "off" ? nil : openAI.noiseReduction,
            tools: DeviceTools.definitions(settings.tools))
    }
}
