import ParleyBoard
import ParleyConfig
import ParleyTransport

public enum TurnState: String, Sendable, Equatable {
    case idle, listening, thinking, speaking
}

/// The whole device state the LEDs, status and logs show.
public struct DeviceState: Sendable, Equatable, CustomStringConvertible {
    public var link: LinkState = .offline
    public var session: SessionState?
    public var turn: TurnState = .idle
    /// The microphone or speaker is gone (unplugged); the engine is reopening it.
    public var audioLost = false
    /// The operator muted the microphone: no audio leaves the device.
    public var muted = false

    public var indicator: Indicator {
        if audioLost || link == .error || session == .error { return .error }
        switch link {
        case .offline: return .offline
        case .connecting: return .connecting
        case .error: return .error
        case .connected: break
        }
        guard session == .created else { return .connecting }
        switch turn {
        case .idle: return .ready
        case .listening: return .listening
        case .thinking: return .thinking
        case .speaking: return .speaking
        }
    }

    public var isReady: Bool { link == .connected && session == .created }

    public var description: String {
        "link=\(link.rawValue) session=\(session?.rawValue ?? "none") turn=\(turn.rawValue)"
            + (audioLost ? " audio=lost" : "") + (muted ? " mic=muted" : "")
    }
}

/// Inputs to the conversation: buttons, backend events, audio-engine observations.
public enum ConversationInput: Sendable, Equatable {
    case board(BoardEvent)
    case backend(BackendEvent)
    /// Processed microphone audio (24 kHz) since the last input.
    case micFrames([Int16])
    /// The speaker has played everything queued.
    case playbackDrained
    /// The audio devices are gone (true) or back (false).
    case audioDevice(lost: Bool)
    /// A typed turn (control socket `say`).
    case typed(String)
    /// Microphone mute on or off (control socket `mute`).
    case mute(Bool)
}

/// What the conversation asks the edges to do.
public enum Effect: Sendable, Equatable {
    case send(BackendCommand)
    case play([Int16])
    /// Barge-in: silence the speaker now and cancel the response with what was played.
    case stopPlaybackAndCancel
    /// Silence the speaker (the link is gone: there is nothing to cancel).
    case stopPlayback
    case indicate(Indicator)
    case cue(Cue)
}

/// Short sounds that tell a technician what happened without looking at the LEDs.
public enum Cue: String, Sendable, Hashable, CaseIterable {
    case ready, listening, listeningEnd = "listening_end", tooShort = "too_short", error, offline, online
}

/// The device's conversation as a pure state machine: state + input → new state + effects.
/// No I/O, no clocks; shared by every backend.
public struct Conversation: Sendable {
    public private(set) var state = DeviceState()
    private var mode: PTTSettings.Mode
    private var minimumTurnSamples: Int
    private var turnSamples = 0
    /// The latest processed audio while not listening, so a turn starts with what was
    /// said as the button went down (the engine's pre-roll). Bounded to `prerollSamples`.
    private var preroll: [Int16] = []
    private let prerollSamples: Int
    private var responseComplete = false
    /// Whether the device was ever ready: the next ready is "back online", not "ready".
    private var wasEverReady = false

    public init(ptt: PTTSettings, prerollMilliseconds: Int = 0) {
        mode = ptt.mode
        minimumTurnSamples = ptt.minimumTurnMilliseconds * 24
        prerollSamples = prerollMilliseconds * 24
        preroll.reserveCapacity(prerollSamples + 4800)
    }

    /// SIGHUP: PTT settings apply from the next input on.
    public mutating func update(ptt: PTTSettings) {
        mode = ptt.mode
        minimumTurnSamples = ptt.minimumTurnMilliseconds * 24
    }

    public mutating func handle(_ input: ConversationInput) -> [Effect] {
        let before = state.indicator
        var effects = transition(input)
        if state.indicator != before { effects.append(.indicate(state.indicator)) }
        return effects
    }

    private mutating func transition(_ input: ConversationInput) -> [Effect] {
        switch input {
        case .board(.pttPressed):
            if mode == .toggle && state.turn == .listening { return endTurn() }
            return startTurn()
        case .board(.pttReleased):
            return mode == .hold && state.turn == .listening ? endTurn() : []
        case .micFrames(let samples):
            guard !samples.isEmpty, !state.muted else { return [] }
            guard state.turn == .listening else {
                keepPreroll(samples)
                return []
            }
            turnSamples += samples.count
            return [.send(.append(samples))]
        case .playbackDrained:
            guard state.turn == .speaking, responseComplete else { return [] }
            state.turn = .idle
            return []
        case .backend(let event):
            return backendEvent(event)
        case .typed(let text):
            guard state.isReady else { return [.cue(.offline)] }
            var effects = interruptResponse()
            if state.turn == .listening { effects.append(.send(.clear)) }
            state.turn = .thinking
            responseComplete = false
            return effects + [.send(.text(text))]
        case .mute(let on):
            guard on != state.muted else { return [] }
            state.muted = on
            guard on else { return [] }
            preroll.removeAll(keepingCapacity: true)  // what was heard before muting stays here
            guard state.turn == .listening else { return [] }
            state.turn = .idle
            return [.send(.clear)]
        case .audioDevice(let lost):
            guard lost != state.audioLost else { return [] }
            state.audioLost = lost
            guard lost else { return [] }
            // No microphone: a turn in progress cannot go on.
            var effects: [Effect] = state.turn == .listening ? [.send(.clear)] : []
            if state.turn == .listening { state.turn = .idle }
            effects.append(.cue(.error))  // heard only if the speaker survived
            return effects
        }
    }

    private mutating func startTurn() -> [Effect] {
        guard state.isReady, !state.audioLost else { return [.cue(.offline)] }
        guard !state.muted else { return [.cue(.error)] }
        var effects = interruptResponse()
        state.turn = .listening
        turnSamples = 0  // what was held, for "too short"; the pre-roll does not count
        responseComplete = false
        if !preroll.isEmpty {
            effects.append(.send(.append(preroll)))
            preroll.removeAll(keepingCapacity: true)
        }
        return effects + [.cue(.listening)]
    }

    /// Barge-in: a new turn stops the answer in progress.
    private func interruptResponse() -> [Effect] {
        switch state.turn {
        case .speaking: [.stopPlaybackAndCancel]
        case .thinking: [.send(.cancelResponse(playedMilliseconds: 0))]
        case .idle, .listening: []
        }
    }

    private mutating func keepPreroll(_ samples: [Int16]) {
        guard prerollSamples > 0 else { return }
        preroll.append(contentsOf: samples.suffix(prerollSamples))
        if preroll.count > prerollSamples { preroll.removeFirst(preroll.count - prerollSamples) }
    }

    private mutating func endTurn() -> [Effect] {
        if turnSamples < minimumTurnSamples {
            state.turn = .idle
            return [.send(.clear), .cue(.tooShort)]
        }
        state.turn = .thinking
        return [.send(.commit), .cue(.listeningEnd)]
    }

    private mutating func backendEvent(_ event: BackendEvent) -> [Effect] {
        switch event {
        case .link(let link):
            let wasReady = state.isReady
            state.link = link
            guard link != .connected else { return [] }
            let wasSpeaking = state.turn == .speaking
            state.session = nil
            state.turn = .idle
            var effects: [Effect] = wasSpeaking ? [.stopPlayback] : []
            if wasReady { effects.append(.cue(link == .error ? .error : .offline)) }
            return effects
        case .session(let session):
            let wasReady = state.isReady
            state.session = session
            if session != .created { state.turn = .idle }
            if !wasReady && state.isReady {
                defer { wasEverReady = true }
                return [.cue(wasEverReady ? .online : .ready)]
            }
            return wasReady && session == .error ? [.cue(.error)] : []
        case .responseStarted:
            responseComplete = false
            return []
        case .audio(let samples):
            guard state.turn == .thinking || state.turn == .speaking else { return [] }
            state.turn = .speaking
            return [.play(samples)]
        case .responseDone:
            responseComplete = true
            if state.turn == .thinking { state.turn = .idle }
            return []
        case .transcript, .error:
            return []
        }
    }
}
