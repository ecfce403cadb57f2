import ParleyBoard
import ParleyConfig
import ParleyTransport

public enum TurnState: String, Sendable, Equatable, CaseIterable {
    case idle, listening, thinking, speaking
    /// The answer asked for will not come (a server error, a rate limit): the error LED for a
    /// moment (`Conversation.failureShown`), then idle. A press starts a turn as from idle.
    case failed
}

/// The whole device state the LEDs, status and logs show.
public struct DeviceState: Sendable, Equatable, CustomStringConvertible {
    public var link: LinkState = .offline
    /// `terminated` while there is no live session (none yet, or it ended with the link).
    public var session: SessionState = .terminated
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
        case .failed: return .error
        case .listening: return .listening
        case .thinking: return .thinking
        case .speaking: return .speaking
        }
    }

    public var isReady: Bool { link == .connected && session == .created }

    public var description: String {
        "link=\(link.rawValue) session=\(session.rawValue) turn=\(turn.rawValue)"
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
    /// A function the assistant called has finished (its output, or the failure as text).
    case toolResult(callID: String, output: String)
    /// A failed turn's error LED has been shown long enough (the controller times it).
    case failureShown
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
    /// Run a function the assistant called; its output comes back as `.toolResult`.
    case runTool(ToolCall)
    /// Volume buttons: this many steps louder (negative: softer).
    case stepVolume(Int)
    /// A turn failed: feed `.failureShown` once its error LED has been on a moment.
    case showFailure
}

/// Short sounds that tell a technician what happened without looking at the LEDs.
public enum Cue: String, Sendable, Hashable, CaseIterable {
    case ready, listening, listeningEnd = "listening_end", tooShort = "too_short", cancelled, error, offline, online
}

/// The device's conversation as a pure state machine: state + input → new state + effects.
/// No I/O, no clocks (the board times long presses); shared by every backend.
public struct Conversation: Sendable {
    public internal(set) var state = DeviceState()
    private(set) var mode: PTTSettings.Mode
    private var vadKind: String
    private var minimumTurnSamples: Int
    private var turnSamples = 0
    /// The latest processed audio while not listening, so a turn starts with what was
    /// said as the button went down (the engine's pre-roll). Bounded to `prerollSamples`.
    private var preroll: [Int16] = []
    private let prerollSamples: Int
    var responseComplete = false
    /// Whether the device was ever ready: the next ready is "back online", not "ready".
    var wasEverReady = false
    /// Function calls of the current turn still running; its answer waits for all of them.
    var pendingTools: Set<String> = []
    /// The last function output asked for an answer that has not started yet.
    var awaitingAnswer = false

    public init(ptt: PTTSettings, prerollMilliseconds: Int = 0) {
        mode = ptt.mode
        vadKind = ptt.vadKind
        minimumTurnSamples = ptt.minimumTurnMilliseconds * 24
        prerollSamples = prerollMilliseconds * 24
        preroll.reserveCapacity(prerollSamples + 4800)
    }

    /// Captured audio leaves the device as it comes (a turn, or hands-free listening): the
    /// controller wants every frame at once; otherwise only enough to keep the pre-roll.
    public var streamsMicrophone: Bool {
        guard !state.muted else { return false }
        return mode == .vad ? state.isReady && !state.audioLost : state.turn == .listening
    }

    /// Hands-free turn detection for a PTT setting: nil for push-to-talk.
    public static func turnDetection(_ ptt: PTTSettings) -> String? { ptt.mode == .vad ? ptt.vadKind : nil }

    /// SIGHUP: PTT settings apply from the next input on; a change into or out of
    /// hands-free mode ends any turn and tells the backend.
    public mutating func update(ptt: PTTSettings) -> [Effect] {
        let before = (mode, vadKind)
        mode = ptt.mode
        vadKind = ptt.vadKind
        minimumTurnSamples = ptt.minimumTurnMilliseconds * 24
        guard before != (mode, vadKind) else { return [] }
        var effects: [Effect] = state.turn == .listening ? [.send(.clear)] : []
        if state.turn == .listening { state.turn = .idle }
        effects.append(.send(.handsFree(Self.turnDetection(ptt))))
        return effects
    }

    public mutating func handle(_ input: ConversationInput) -> [Effect] {
        let before = state.indicator
        var effects = transition(input)
        if state.indicator != before { effects.append(.indicate(state.indicator)) }
        return effects
    }

    private mutating func transition(_ input: ConversationInput) -> [Effect] {
        switch input {
        case .board(let event):
            return button(event)
        case .micFrames(let samples):
            guard !samples.isEmpty, !state.muted else { return [] }
            if mode == .vad {
                // Hands-free: the server listens all the time, also while the assistant
                // speaks (the echo canceller keeps its voice out), so it can be interrupted.
                return state.isReady && !state.audioLost ? [.send(.append(samples))] : []
            }
            guard state.turn == .listening else {
                keepPreroll(samples)
                return []
            }
            turnSamples += samples.count
            return [.send(.append(samples))]
        case .playbackDrained:
            guard state.turn == .speaking, responseComplete else { return [] }
            state.turn = waitingForMore ? .thinking : .idle
            return []
        case .backend(let event):
            return backendEvent(event)
        case .typed(let text):
            guard state.isReady else { return [.cue(.offline)] }
            var effects = interruptResponse()
            if state.turn == .listening { effects.append(.send(.clear)) }
            state.turn = .thinking
            responseComplete = false
            forgetTools()
            return effects + [.send(.text(text))]
        case .mute(let on):
            return mute(on)
        case .audioDevice(let lost):
            guard lost != state.audioLost else { return [] }
            state.audioLost = lost
            guard lost else { return [] }
            // No microphone: a turn in progress cannot go on.
            var effects: [Effect] = state.turn == .listening ? [.send(.clear)] : []
            if state.turn == .listening { state.turn = .idle }
            effects.append(.cue(.error))  // heard only if the speaker survived
            return effects
        case .toolResult(let callID, let output):
            return toolResult(callID: callID, output: output)
        case .failureShown:
            if state.turn == .failed { state.turn = .idle }
            return []
        }
    }

    private mutating func button(_ event: BoardEvent) -> [Effect] {
        switch (mode, event) {
        case (_, .volumeUp): return [.stepVolume(1)]
        case (_, .volumeDown): return [.stepVolume(-1)]
        case (_, .cancel): return cancelTurn()
        case (.vad, .pttPressed):
            // Hands-free: the button is the microphone's mute switch.
            return mute(!state.muted) + [.cue(state.muted ? .listeningEnd : .listening)]
        case (.vad, _):
            return []
        case (.toggle, .pttPressed) where state.turn == .listening:
            return endTurn()
        case (_, .pttPressed):
            return startTurn()
        case (.hold, .pttReleased) where state.turn == .listening:
            return endTurn()
        case (_, .pttReleased):
            return []
        case (.hold, .pttLongPressed):
            return []  // holding is talking: a long hold is a long question
        case (.toggle, .pttLongPressed):
            // A tap starts a turn; holding that press instead means "never mind". Nothing is sent.
            guard state.turn == .listening else { return [] }
            state.turn = .idle
            return [.send(.clear), .cue(.cancelled)]
        }
    }

    private mutating func mute(_ on: Bool) -> [Effect] {
        guard on != state.muted else { return [] }
        state.muted = on
        guard on else { return [] }
        preroll.removeAll(keepingCapacity: true)  // what was heard before muting stays here
        guard state.turn == .listening else { return mode == .vad ? [.send(.clear)] : [] }
        state.turn = .idle
        return [.send(.clear)]
    }

    private mutating func startTurn() -> [Effect] {
        guard state.isReady, !state.audioLost else { return [.cue(.offline)] }
        guard !state.muted else { return [.cue(.error)] }
        var effects = interruptResponse()
        state.turn = .listening
        turnSamples = 0  // what was held, for "too short"; the pre-roll does not count
        responseComplete = false
        forgetTools()
        if !preroll.isEmpty {
            effects.append(.send(.append(preroll)))
            preroll.removeAll(keepingCapacity: true)
        }
        return effects + [.cue(.listening)]
    }

    /// The cancel button: "never mind" — whatever is being said is dropped, whatever is
    /// being answered stops, and the device is ready again.
    private mutating func cancelTurn() -> [Effect] {
        guard state.turn != .idle else { return [] }
        guard state.turn != .failed else {
            state.turn = .idle
            return []
        }
        var effects = interruptResponse()
        if state.turn == .listening { effects.append(.send(.clear)) }
        state.turn = .idle
        forgetTools()
        return effects + [.cue(.cancelled)]
    }

    /// Barge-in: a new turn stops the answer in progress.
    private func interruptResponse() -> [Effect] {
        switch state.turn {
        case .speaking: [.stopPlaybackAndCancel]
        case .thinking: [.send(.cancelResponse(playedMilliseconds: 0))]
        case .idle, .listening, .failed: []
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
}
