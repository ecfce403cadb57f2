import Logging
import ParleyAudio
import ParleyBoard
import ParleyConfig
import ParleyTransport

/// The rings the controller shares with the audio engine (or a test).
public struct AudioPorts: Sendable {
    public let captured: SampleRing
    public let playback: SampleRing
    public let cues: SampleRing
    /// How the audio threads say there is captured audio, or the speaker ran dry.
    public let doorbell: AudioDoorbell

    public init(captured: SampleRing, playback: SampleRing, cues: SampleRing, doorbell: AudioDoorbell) {
        self.captured = captured
        self.playback = playback
        self.cues = cues
        self.doorbell = doorbell
    }
}

/// Runs the conversation against the edges: feeds it board, backend and audio inputs,
/// and carries out its effects. The only place the state machine meets I/O.
public actor DeviceController {
    private var conversation: Conversation
    private let board: any Board
    private let backend: any VoiceBackend
    private let tools: any ToolRunner
    private let audio: AudioPorts
    private let logger: Logger
    private let onStateChange: @Sendable (DeviceState) -> Void
    private let stepVolume: @Sendable (Int) -> Void
    private let onTranscript: @Sendable (BackendEvent.Role, String) -> Void
    private var cueSounds: CueSounds
    /// Samples received for the current response, and how many of them the ring still holds.
    private var receivedSamples = 0
    /// When the turn waiting for its answer ended, for `turnLatency`.
    private var turnEnded: ContinuousClock.Instant?
    private var wasConnected = false
    private let idleWakeupSamples: Int
    public private(set) var stats = Stats()

    /// What happened so far, for status and metrics.
    public struct Stats: Sendable {
        public var turns = 0
        public var typedTurns = 0
        public var bargeIns = 0
        public var tooShort = 0
        public var backendErrors: [BackendError.Kind: Int] = [:]
        public var toolCalls = 0
        public var toolFailures = 0
        /// The link came back after it had been up (reconnects and renewals the conversation saw).
        public var reconnects = 0
        public var audioDeviceLosses = 0
        /// End of a turn (commit or typed) → the answer's first audio to the speaker.
        public var turnLatency = LatencyHistogram()
        public var lastError: String?
        public var lastUserTranscript: String?
        public var lastAssistantTranscript: String?
    }

    public init(ptt: PTTSettings, prerollMilliseconds: Int, cues: CueSounds, board: any Board, backend: any VoiceBackend,
                tools: any ToolRunner = NoTools(), audio: AudioPorts,
                stepVolume: @escaping @Sendable (Int) -> Void = { _ in },
                onTranscript: @escaping @Sendable (BackendEvent.Role, String) -> Void = { _, _ in },
                logger: Logger, onStateChange: @escaping @Sendable (DeviceState) -> Void) {
        conversation = Conversation(ptt: ptt, prerollMilliseconds: prerollMilliseconds)
        // Idle, the captured audio only keeps the pre-roll fresh: a wake-up per half of it.
        idleWakeupSamples = max(AudioFormat.frameSamples, prerollMilliseconds > 0 ? prerollMilliseconds * 12 : 2400)
        self.board = board
        self.backend = backend
        self.tools = tools
        self.audio = audio
        self.logger = logger
        self.onStateChange = onStateChange
        self.stepVolume = stepVolume
        self.onTranscript = onTranscript
        cueSounds = cues
    }

    public var state: DeviceState { conversation.state }

    /// How long a failed turn's error LED stays on before the device shows ready again.
    static let failureShownFor = Duration.seconds(3)

    /// SIGHUP. `cues` nil: keep the current sounds (the new ones could not be loaded).
    public func update(ptt: PTTSettings, cues: CueSounds?) async {
        if let cues { cueSounds = cues }
        await board.setLongPress(milliseconds: ptt.longPressMilliseconds)
        let before = conversation.state
        await carryOut(conversation.update(ptt: ptt))
        stateChanged(from: before)
    }

    /// A sound over whatever plays (a cue, the echo-delay probe's sweep): through the cue ring,
    /// whose one producer is this actor. Skipped whole when it does not fit, never cut.
    public func playSound(_ samples: [Int16]) {
        if !samples.isEmpty && audio.cues.availableToWrite >= samples.count { _ = audio.cues.push(samples) }
    }

    /// A typed turn (control socket).
    public func say(_ text: String) async { await feed(.typed(text)) }

    /// Microphone mute (control socket).
    public func mute(_ on: Bool) async { await feed(.mute(on)) }

    /// The audio engine lost its devices (true) or has them back (false).
    public func audioDevice(lost: Bool) async { await feed(.audioDevice(lost: lost)) }

    /// Runs until cancelled.
    public func run() async {
        await board.show(conversation.state.indicator)
        onStateChange(conversation.state)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await event in self.board.events { await self.feed(.board(event)) } }
            group.addTask { for await event in self.backend.events { await self.feed(.backend(event)) } }
            group.addTask { await self.pumpAudio() }
            await group.next()
            group.cancelAll()
        }
    }

    /// When the audio threads ring: hand captured audio to the conversation, notice when
    /// playback ran dry. No polling: they ring only for what `wantWakeups` asked.
    private func pumpAudio() async {
        let wakeups = audio.doorbell.wakeups()
        wantWakeups()
        await withTaskCancellationHandler {
            for await _ in wakeups {
                let frames = audio.captured.pop(maximum: audio.captured.availableToRead)
                if !frames.isEmpty { await feed(.micFrames(frames)) }
                if conversation.state.turn == .speaking && audio.playback.availableToRead == 0 {
                    await feed(.playbackDrained)
                }
            }
        } onCancel: { [doorbell = audio.doorbell] in
            doorbell.close()
        }
    }

    /// Every frame while a turn streams; otherwise a wake-up per half pre-roll (so it stays
    /// fresh) — and one when the speaker runs dry while an answer plays.
    private func wantWakeups() {
        let frames = conversation.streamsMicrophone ? AudioFormat.frameSamples : idleWakeupSamples
        audio.doorbell.want(capturedSamples: frames, drained: conversation.state.turn == .speaking)
    }

    func feed(_ input: ConversationInput) async {
        record(input)
        let before = conversation.state
        await carryOut(conversation.handle(input))
        stateChanged(from: before)
    }

    /// What the technician sees and hears first; then the network, in order. The audio
    /// threads are told what is worth a wake-up in the state the effects leave.
    private func carryOut(_ effects: [Effect]) async {
        wantWakeups()
        var outgoing: [BackendCommand] = []
        for effect in effects { if let command = await perform(effect) { outgoing.append(command) } }
        for command in outgoing { await send(command) }
    }

    private func stateChanged(from before: DeviceState) {
        guard conversation.state != before else { return }
        logger.info("state: \(conversation.state)")
        onStateChange(conversation.state)
    }

    private func send(_ command: BackendCommand) async {
        switch command {
        case .commit: receivedSamples = 0; stats.turns += 1; turnEnded = .now
        case .text: receivedSamples = 0; stats.typedTurns += 1; turnEnded = .now
        default: break
        }
        await backend.send(command)
    }

    /// Carries out an effect's local part at once; returns what it asks of the backend.
    private func perform(_ effect: Effect) async -> BackendCommand? {
        switch effect {
        case .send(let command):
            return command
        case .play(let samples):
            if let ended = turnEnded {
                let latency = ContinuousClock.now - ended
                stats.turnLatency.observe(seconds: Double(latency.components.seconds) + Double(latency.components.attoseconds) / 1e18)
                turnEnded = nil
            }
            receivedSamples += samples.count
            let written = audio.playback.push(samples)
            if written < samples.count {
                logger.warning("playback ring full: dropped \(samples.count - written) samples")
            }
        case .stopPlaybackAndCancel:
            let queued = audio.playback.availableToRead
            audio.playback.flush()
            let played = max(0, receivedSamples - queued) / 24
            receivedSamples = 0
            stats.bargeIns += 1
            return .cancelResponse(playedMilliseconds: played)
        case .stopPlayback:
            audio.playback.flush()
            receivedSamples = 0
        case .indicate(let indicator):
            await board.show(indicator)
        case .cue(let cue):
            if cue == .tooShort { stats.tooShort += 1 }
            playSound(cueSounds.samples(cue))  // one that does not fit (cues piling up) is skipped whole
            logger.debug("cue: \(cue.rawValue)")
        case .stepVolume(let steps):
            stepVolume(steps)
        case .showFailure:
            Task {
                try? await Task.sleep(for: Self.failureShownFor)
                await self.feed(.failureShown)
            }
        case .runTool(let call):
            stats.toolCalls += 1
            logger.info("tool call \(call.name) (\(call.callID))")
            // Off the actor: a slow tool must not hold up audio or buttons. Every runner
            // returns (its failures are outputs), so the turn never hangs on it.
            let device = DeviceSnapshot(state: conversation.state, stats: stats)
            Task {
                let result = await tools.run(call, device: device)
                await self.toolFinished(call, result)
            }
        }
        return nil
    }

    private func toolFinished(_ call: ToolCall, _ result: ToolResult) async {
        if result.failed {
            stats.toolFailures += 1
            logger.warning("tool \(call.name) failed: \(result.output)")
        } else {
            logger.debug("tool \(call.name) done")
        }
        await feed(.toolResult(callID: call.callID, output: result.output))
    }

    /// Logs an input and keeps what status shows of it.
    private func record(_ input: ConversationInput) {
        switch input {
        case .board(.pttLongPressed) where conversation.mode == .hold:
            break  // holding is talking in hold mode: a long press means nothing, so says nothing
        case .board(let event): logger.info("button: \(event)")
        case .backend(.transcript(let role, let text)):
            logger.info("transcript \(role.rawValue): \(text)")
            onTranscript(role, text)
            switch role {
            case .user: stats.lastUserTranscript = text
            case .assistant: stats.lastAssistantTranscript = text
            }
        case .backend(.error(let error)), .backend(.responseFailed(let error)):
            if !error.logged { logger.warning("backend error: \(error)") }
            stats.backendErrors[error.kind, default: 0] += 1
            stats.lastError = error.message
        case .backend(.link(let link)):
            if link == .connected {
                if wasConnected { stats.reconnects += 1 }
                wasConnected = true
            }
        case .audioDevice(lost: true) where !conversation.state.audioLost:
            stats.audioDeviceLosses += 1
        case .typed(let text): logger.info("typed turn: \(text)")
        case .mute(let on): logger.notice("microphone \(on ? "muted" : "unmuted")")
        default: break
        }
    }
}
