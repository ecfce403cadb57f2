/// Typed, validated settings: what the rest of Parley reads. Built only from an
/// `EffectiveConfig` that passed validation. Field docs live in the schema (docs/CONFIG.md).
public struct ParleySettings: Sendable {
    public var device: DeviceSettings
    public var audio: AudioSettings
    public var dsp: DSPSettings
    public var backend: BackendSettings
    public var speech: SpeechSettings
    public var tools: ToolSettings
    public var ptt: PTTSettings
    public var board: BoardSettings
    public var transcripts: TranscriptSettings
    public var control: ControlSettings
    public var logging: LoggingSettings
    public var metrics: MetricsSettings
    public var provisioning: ProvisioningSettings
}

public struct ProvisioningSettings: Sendable, Equatable {
    /// nil: provisioning is off.
    public var url: String?
    public var publicKey: String
    public var fleetDefault: Bool
    public var intervalSeconds: Int
    public var rollbackAfterSeconds: Int
    public var caFile: String?
}

public struct DeviceSettings: Sendable, Equatable {
    public var id: String
    public var fleet: String
    public var site: String
    public var technicianID: String
    public var technicianName: String
}

public struct AudioSettings: Sendable, Equatable {
    public enum Pacing: String, Sendable, CaseIterable { case device, clock }
    public var captureDevice: String
    public var playbackDevice: String
    public var rate: Int
    public var captureChannels: Int
    public var micChannel: Int
    public var micMix: Bool
    public var playbackChannels: Int
    public var periodMilliseconds: Int
    public var bufferPeriods: Int
    public var pacing: Pacing
    public var realtimePriority: Int
    public var lockMemory: Bool
    public var prerollMilliseconds: Int
    public var jitterMilliseconds: Int
    public var volumePercent: Int
    public var micGainDecibels: Double
    public var mixerCard: String
    public var playbackMixerControl: String?
    public var captureMixerControl: String?
    public var reopenMaxMilliseconds: Int

    /// Frames per period at the device rate.
    public var periodFrames: Int { rate * periodMilliseconds / 1000 }
}

public struct DSPSettings: Sendable, Equatable {
    public var resamplerQuality: Int
    public var echoCancellation: Bool
    public var echoTailMilliseconds: Int
    public var echoExtraDelayMilliseconds: Int
    public var driftWarningPPM: Int
    public var residualEchoSuppression: Bool
    public var noiseSuppression: Bool
    public var noiseSuppressDecibels: Int
    public var automaticGain: Bool
    public var automaticGainLevel: Int
    public var automaticGainMaximumDecibels: Int
    public var echoDelayProbe: Bool
    public var echoProbeMarginMilliseconds: Int
    public var voiceActivity: Bool
    /// `dsp.aec_erle_warning_db` (0: never warn).
    public var echoHealthWarningDecibels = 20
    /// `dsp.aec_align_on_speech`.
    public var alignOnSpeech = true
    /// `dsp.aec_speaker_curve`.
    public var speakerCurve = true
}

public struct BackendSettings: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case echo, openai, openaiWebRTC = "openai_webrtc", agentRoutes = "agent_routes", rtRelay = "rt_relay"
        case office, training, agentC = "agent_c"
    }

    public struct OpenAI: Sendable {
        public var url: String
        public var callsURL: String
        /// openai_webrtc: where each call's ephemeral key comes from; nil: the API key dials.
        public var ephemeralKeyURL: String?
        public var model: String
        public var apiKey: Secret?
        public var voice: String
        public var instructions: String
        public var transcriptionModel: String?
        public var language: String
        public var appendChunkMilliseconds: Int
        public var noiseReduction: String
        public var caFile: String?
        public var sessionRefreshSeconds: Int
    }

    public struct Relay: Sendable {
        public var baseURL: String
        public var userID: String
        public var model: String
        public var provider: String
        /// API key or JWT, for the relays that take one.
        public var credential: Secret?
        public var agent: String
        /// agent_routes: "webrtc" (a call through the relay) or "chat" (chat completions).
        public var media: String
        /// agent_routes: the chat completions answering turns.
        public var chatModel: String
        public var instructions: String
        /// agent_c, agent_routes: transcription of spoken turns.
        public var transcriptionKey: Secret?
        public var transcriptionURL: String
        public var transcriptionModel: String
        public var language: String
        /// rt_relay: audio per upload, and the quiet that ends an answer.
        public var appendChunkMilliseconds: Int
        public var responseIdleMilliseconds: Int
    }

    /// The WebRTC backends' call.
    public struct WebRTC: Sendable {
        public var localAddresses: [String]
        public var jitterMilliseconds: Int
    }

    public var kind: Kind
    public var reconnectInitialMilliseconds: Int
    public var reconnectMaxMilliseconds: Int
    public var stallTimeoutMilliseconds: Int
    /// false only by an explicit config flag: certificates unchecked, a warning per connection.
    public var tlsVerify: Bool
    /// http:// and ws:// may carry secrets to another machine (an explicit flag; warned per connection).
    public var allowInsecure: Bool
    public var echoDelayMilliseconds: Int
    public var openAI: OpenAI
    /// Settings of the chosen relay (seed backends); empty for echo and openai.
    public var relay: Relay
    public var webRTC: WebRTC
}

public struct SpeechSettings: Sendable, Equatable {
    public var voice: String
    public var wordsPerMinute: Int
}

public struct ToolSettings: Sendable, Equatable {
    /// A function served over HTTP by the customer's systems.
    public struct HTTPTool: Sendable, Equatable {
        public var name: String
        public var description: String
        /// JSON schema text (validated as an object).
        public var parameters: String
        public var url: String
        public var timeoutMilliseconds: Int
    }

    public static let builtinNames: Set<String> = ["device_status", "set_volume"]
    public var builtins: Bool
    public var http: [HTTPTool]
}

public struct PTTSettings: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable { case hold, toggle, vad }
    public var mode: Mode
    public var vadKind: String
    public var longPressMilliseconds: Int
    public var minimumTurnMilliseconds: Int
}

public struct BoardSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case sim, gpio }
    public struct LED: Sendable, Equatable {
        public var name: String
        public var line: String
        public var activeLow: Bool
        /// Device state (an `Indicator` name) → pattern name (`ConfigSchema.ledPatterns`);
        /// empty: a status LED with `ConfigSchema.ledDefaults`.
        public var patterns: [String: String]

        public init(name: String, line: String, activeLow: Bool = false, patterns: [String: String] = [:]) {
            self.name = name
            self.line = line
            self.activeLow = activeLow
            self.patterns = patterns
        }
    }
    public var kind: Kind
    public var required: Bool
    public var chip: String
    public var pttLine: String
    public var volumeUpLine: String?
    public var volumeDownLine: String?
    public var cancelLine: String?
    public var volumeStepPercent: Int
    public var activeLow: Bool
    public var bias: String
    public var debounceMilliseconds: Int
    public var leds: [LED]
    public var cuesEnabled: Bool
    public var cueVolumePercent: Int
    /// Cue name → "builtin", "off" or a WAV file path.
    public var cueSources: [String: String]
}

public struct TranscriptSettings: Sendable {
    public var enabled: Bool
    public var url: String
    public var token: Secret?
    public var userID: String
    public var queuePath: String
    public var maximumQueued: Int
    public var retryMaxMilliseconds: Int
    public var timeoutMilliseconds: Int
}

public struct ControlSettings: Sendable, Equatable {
    public var socketPath: String
    public var mode: UInt32
    public var group: String?
}

public struct LoggingSettings: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable { case auto, journal, plain, json }
    public var level: String
    public var format: Format
}

public struct MetricsSettings: Sendable, Equatable {
    public var enabled: Bool
    public var listen: String
}
