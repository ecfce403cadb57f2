import FoundationEssentials

/// The reply to one request: one JSON object per line.
public struct ControlReply: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    /// A short human summary ("ptt pressed", "volume 40%").
    public var message: String?
    public var status: StatusReport?
    /// Counters and gauges by Prometheus-style name.
    public var metrics: [String: Double]?

    public init(ok: Bool, error: String? = nil, message: String? = nil, status: StatusReport? = nil,
                metrics: [String: Double]? = nil) {
        self.ok = ok
        self.error = error
        self.message = message
        self.status = status
        self.metrics = metrics
    }

    public static func done(_ message: String) -> ControlReply { ControlReply(ok: true, message: message) }
    public static func failed(_ error: String) -> ControlReply { ControlReply(ok: false, error: error) }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)) ?? Data(#"{"error":"cannot encode reply","ok":false}"#.utf8)
    }

    public static func decode(_ line: Data) throws(ControlProtocolError) -> ControlReply {
        do { return try JSONDecoder().decode(ControlReply.self, from: line) } catch {
            throw ControlProtocolError("the daemon's reply is not valid: \(error)")
        }
    }
}

/// Everything `parleyctl status` shows.
public struct StatusReport: Codable, Sendable, Equatable {
    public struct State: Codable, Sendable, Equatable {
        public var link: String
        public var session: String
        public var turn: String
        public var indicator: String
        public var audioLost: Bool
        public var muted: Bool
        public init(link: String, session: String, turn: String, indicator: String, audioLost: Bool, muted: Bool) {
            self.link = link
            self.session = session
            self.turn = turn
            self.indicator = indicator
            self.audioLost = audioLost
            self.muted = muted
        }
    }

    public struct Audio: Codable, Sendable, Equatable {
        public var captureDevice: String
        public var playbackDevice: String
        public var rate: Int
        public var periodFrames: Int
        /// "SCHED_FIFO 70", "normal (configured)", "normal (refused: …)".
        public var scheduling: String
        public var volumePercent: Int
        public var captureXruns: UInt64
        public var playbackXruns: UInt64
        public var lastDeviceError: String
        public var clockDriftPPM: Double?
        public var echoReference: EchoReference
        /// Share of one core each audio thread used since it started, in percent.
        public var captureCPUPercent: Double?
        public var playbackCPUPercent: Double?
        /// `dsp.vad`: voice in the latest captured frame, and seconds of voice heard since start
        /// (both nil with dsp.vad = false).
        public var voiceActive: Bool?
        public var voiceSeconds: Double?
        /// The capture chain's live echo measure (nil with dsp.aec = false).
        public var echoHealth: EchoHealth?
        public init(captureDevice: String, playbackDevice: String, rate: Int, periodFrames: Int, scheduling: String,
                    volumePercent: Int, captureXruns: UInt64, playbackXruns: UInt64, lastDeviceError: String,
                    clockDriftPPM: Double?, echoReference: EchoReference,
                    captureCPUPercent: Double? = nil, playbackCPUPercent: Double? = nil,
                    voiceActive: Bool? = nil, voiceSeconds: Double? = nil, echoHealth: EchoHealth? = nil) {
            self.echoHealth = echoHealth
            self.voiceActive = voiceActive
            self.voiceSeconds = voiceSeconds
            self.captureCPUPercent = captureCPUPercent
            self.playbackCPUPercent = playbackCPUPercent
            self.captureDevice = captureDevice
            self.playbackDevice = playbackDevice
            self.rate = rate
            self.periodFrames = periodFrames
            self.scheduling = scheduling
            self.volumePercent = volumePercent
            self.captureXruns = captureXruns
            self.playbackXruns = playbackXruns
            self.lastDeviceError = lastDeviceError
            self.clockDriftPPM = clockDriftPPM
            self.echoReference = echoReference
        }
    }

    /// How well the device cancels its own echo, measured live over far-end-only audio
    /// (docs/AUDIO.md, Live echo health).
    public struct EchoHealth: Codable, Sendable, Equatable {
        /// Measures so far: one per answer, or per 8 s of far-end-only audio.
        public var measures: Int
        /// The last measure's echo return loss enhancement (dB); nil before the first.
        public var erleDecibels: Double?
        /// The far-end-only audio it rests on (s).
        public var farEndOnlySeconds: Double?
        /// Set while ERLE stays below dsp.aec_erle_warning_db: the likely cause
        /// (misaligned, micClipping, speakerDistortion, echoPath).
        public var warning: String?
        /// Where the speaker squashes its peaks (dBFS), when it does: the echo reference is
        /// bent to match (dsp.aec_speaker_curve).
        public var speakerLimitDBFS: Double?
        public init(measures: Int, erleDecibels: Double?, farEndOnlySeconds: Double?, warning: String?,
                    speakerLimitDBFS: Double? = nil) {
            self.measures = measures
            self.erleDecibels = erleDecibels
            self.farEndOnlySeconds = farEndOnlySeconds
            self.warning = warning
            self.speakerLimitDBFS = speakerLimitDBFS
        }
    }

    /// How the echo canceller's reference is kept in line with the microphone.
    public struct EchoReference: Codable, Sendable, Equatable {
        /// How far the reference leads the capture (ms).
        public var leadMilliseconds: Double
        /// Times it jumped into line (start, xruns, the delay probe).
        public var realignments: Int
        /// The reference resampler's rate offset: clock drift less alignment steering (ppm).
        public var resamplerPPM: Double
        /// The lead correction the echo-delay probe or the alignment on speech made (ms).
        public var probeCorrectionMilliseconds: Double
        public init(leadMilliseconds: Double, realignments: Int, resamplerPPM: Double, probeCorrectionMilliseconds: Double) {
            self.leadMilliseconds = leadMilliseconds
            self.realignments = realignments
            self.resamplerPPM = resamplerPPM
            self.probeCorrectionMilliseconds = probeCorrectionMilliseconds
        }
    }

    /// One LED: its pattern in the current state and whether it is lit at this instant.
    public struct LED: Codable, Sendable, Equatable {
        public var name: String
        public var pattern: String
        public var lit: Bool
        /// When the device state it shows last changed: CLOCK_MONOTONIC seconds, comparable
        /// with clock_gettime(CLOCK_MONOTONIC) (Python's time.monotonic()) on the device.
        public var since: Double?
        public init(name: String, pattern: String, lit: Bool, since: Double? = nil) {
            self.name = name
            self.pattern = pattern
            self.lit = lit
            self.since = since
        }
    }

    /// The transcript store-and-forward queue, when `transcripts.enabled`.
    public struct Transcripts: Codable, Sendable, Equatable {
        public var queued: Int
        public var sent: Int
        public var rejected: Int
        public var dropped: Int
        public var lastError: String?
        public init(queued: Int, sent: Int, rejected: Int, dropped: Int, lastError: String?) {
            self.queued = queued
            self.sent = sent
            self.rejected = rejected
            self.dropped = dropped
            self.lastError = lastError
        }
    }

    /// Remote provisioning, when `provisioning.url` is set.
    public struct Provisioning: Codable, Sendable, Equatable {
        /// The ETags in force ("device \"abc\"", fleet first), or "none".
        public var version: String
        /// applied, applying, unchanged, refused, rolled back, unreachable.
        public var result: String
        public var reason: String
        /// The last pull that reached the server (Unix seconds).
        public var lastPull: Double?
        public init(version: String, result: String, reason: String, lastPull: Double?) {
            self.version = version
            self.result = result
            self.reason = reason
            self.lastPull = lastPull
        }
    }

    public var version: String
    public var deviceID: String
    public var backend: String
    public var uptimeSeconds: Int
    public var state: State
    public var audio: Audio
    /// "sim", or "gpio" and the chip.
    public var board: String
    public var leds: [LED]
    public var lastError: String?
    public var lastUserTranscript: String?
    public var lastAssistantTranscript: String?
    public var transcripts: Transcripts?
    public var provisioning: Provisioning?

    public init(version: String, deviceID: String, backend: String, uptimeSeconds: Int, state: State, audio: Audio,
                board: String, leds: [LED], lastError: String?, lastUserTranscript: String?, lastAssistantTranscript: String?,
                transcripts: Transcripts? = nil, provisioning: Provisioning? = nil) {
        self.transcripts = transcripts
        self.provisioning = provisioning
        self.version = version
        self.deviceID = deviceID
        self.backend = backend
        self.uptimeSeconds = uptimeSeconds
        self.state = state
        self.audio = audio
        self.board = board
        self.leds = leds
        self.lastError = lastError
        self.lastUserTranscript = lastUserTranscript
        self.lastAssistantTranscript = lastAssistantTranscript
    }
}
