import FoundationEssentials
import ParleyConfig
import ParleyControlProtocol
import ParleyRealtime
import ParleyTransport
#if WebRTC
import ParleyWebRTC
#endif

/// Every parser fed by the network or the operator, given arbitrary bytes. libFuzzer drives
/// these from Fuzz/ (`make fuzz`); `FuzzCorpusTests` replays the seed corpora and every
/// crasher found, so a finding stays fixed. A parse error is a normal return; only a trap,
/// a hang or a sanitizer report is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// OpenAI Realtime server events (WebSocket text frames).
    case realtime
    /// Server-sent events (seed 001's streams), fed in chunks, then read as relay payloads.
    case sse
    /// Engine.IO v4 / Socket.IO v5 frames (seed 000's status plane).
    case engineio
    /// Relay and Agent C JSON bodies: error bodies, Agent C events.
    case relayJSON = "relay_json"
    /// A configuration file, validated and turned into settings.
    case config
    /// A control-socket request line.
    case control
    /// An SDP answer from a WebRTC signaling route (fingerprints read, offers patched), and
    /// data channel messages as webrtcbin cuts them (the first byte sets the piece size).
    case sdp

    public func run(_ data: Data) {
        switch self {
        case .realtime:
            _ = try? RealtimeServerEvent.parse(Self.text(data))
        case .sse:
            Self.sse(data)
        case .engineio:
            let text = Self.text(data)
            _ = try? EngineIOPacket.parse(text)
            _ = try? SocketIOPacket.parse(text)
        case .relayJSON:
            let text = Self.text(data)
            _ = JSONValue.parse(text)?.text()
            _ = try? AgentCEvent.parse(text)
            _ = RelayFailure(status: 502, method: "POST", url: "http://relay.local/api/rt/start", body: text).message
        case .config:
            Self.config(data)
        case .control:
            _ = try? ControlRequest.decode(data)
        case .sdp:
            Self.sdp(data)
        }
    }

    /// Bytes off the wire become text the way the transports make it (invalid UTF-8 repaired).
    private static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    /// The first byte sets the chunk size, so the fuzzer also explores how a stream is cut.
    private static func sse(_ data: Data) {
        guard let first = data.first else { return }
        let chunk = Int(first % 64) + 1
        var parser = SSEParser(maximumEventBytes: 4096)
        var rest = data.dropFirst()
        while !rest.isEmpty {
            for event in parser.feed(rest.prefix(chunk)) {
                for stream in RTRelayPayload.Stream.allCases { _ = try? RTRelayPayload.parse(event, stream: stream) }
            }
            rest = rest.dropFirst(chunk)
        }
    }

    private static func sdp(_ data: Data) {
        #if WebRTC
        let text = text(data)
        _ = SessionDescription.fingerprints(in: text)
        _ = SessionDescription.replacingFingerprint(in: text, with: "AB:CD")
        guard let first = data.first else { return }
        var joiner = MessageReassembler(limit: 4096)
        var rest = data.dropFirst()
        while !rest.isEmpty {
            _ = joiner.feed(rest.prefix(Int(first) + 1))
            rest = rest.dropFirst(Int(first) + 1)
        }
        #endif
    }

    private static func config(_ data: Data) {
        let loader = ConfigLoader(environment: [:])
        var layers = ConfigLoader.Layers()
        loader.loadText(text(data), path: "/etc/parley/parley.toml", into: &layers)
        let (effective, problems) = ConfigValidator().validate(layers)
        guard problems.isEmpty else {
            _ = problems.map(\.description)  // the messages are built from the input too
            return
        }
        _ = ParleySettings(effective.setting("device.id", to: "fuzz"), secrets: [:])
    }
}
