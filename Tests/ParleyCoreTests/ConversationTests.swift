import ParleyBoard
@testable import ParleyConfig
import ParleyTransport
import Testing
@testable import ParleyCore

@Suite struct ConversationTests {
    static let hold = PTTSettings(mode: .hold, vadKind: "semantic_vad", longPressMilliseconds: 3000, minimumTurnMilliseconds: 100)
    let speech = [Int16](repeating: 1000, count: 2400)  // 100 ms at 24 kHz

    func connected(_ ptt: PTTSettings = hold) -> Conversation {
        var c = Conversation(ptt: ptt)
        _ = c.handle(.backend(.link(.connecting)))
        _ = c.handle(.backend(.link(.connected)))
        _ = c.handle(.backend(.session(.creating)))
        _ = c.handle(.backend(.session(.created)))
        return c
    }

    @Test func indicatorFollowsLinkAndSession() {
        var c = Conversation(ptt: Self.hold)
        #expect(c.state.indicator == .offline)
        #expect(c.handle(.backend(.link(.connecting))) == [.indicate(.connecting)])
        #expect(c.handle(.backend(.link(.connected))) == [])  // still connecting: no session yet
        #expect(c.handle(.backend(.session(.created))) == [.cue(.ready), .indicate(.ready)])
        #expect(c.handle(.backend(.session(.error))) == [.cue(.error), .indicate(.error)])
    }

    /// Regression: an error event in reply to response.create (rate_limit_exceeded) left the
    /// turn "thinking" for the whole stall timeout, then tore the link down.
    @Test func aFailedAnswerEndsTheTurnAtOnceWithTheErrorCueAndTheLinkUp() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        let limit = BackendError(.rateLimit, "openai: server error rate_limit_exceeded")
        #expect(c.handle(.backend(.responseFailed(limit))) == [.cue(.error), .showFailure, .indicate(.error)])
        #expect(c.state == DeviceState(link: .connected, session: .created, turn: .failed))
        #expect(c.handle(.failureShown) == [.indicate(.ready)])
        #expect(c.state.turn == .idle)
        // A press while the error shows starts a turn as from idle.
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        _ = c.handle(.backend(.responseFailed(limit)))
        #expect(c.handle(.board(.pttPressed)) == [.cue(.listening), .indicate(.listening)])
        #expect(c.handle(.failureShown) == [])  // the old failure's timer: the new turn stays
        #expect(c.state.turn == .listening)
    }

    @Test func aFailureForATurnThatMovedOnIsIgnored() {
        var c = connected()
        #expect(c.handle(.backend(.responseFailed(BackendError(.server, "late")))) == [])
        #expect(c.state.turn == .idle)
    }

    /// The error shows until the replacement is ready: redialling and a new session being
    /// created do not turn it into "connecting".
    @Test func anErrorShowsUntilTheReplacementIsReady() {
        var c = connected()
        #expect(c.handle(.backend(.link(.error))) == [.cue(.error), .indicate(.error)])
        #expect(c.handle(.backend(.link(.connecting))) == [])
        #expect(c.state.link == .error && c.state.session == .terminated)
        #expect(c.handle(.backend(.link(.connected))) == [.indicate(.connecting)])
        #expect(c.handle(.backend(.session(.created))) == [.cue(.online), .indicate(.ready)])

        #expect(c.handle(.backend(.session(.error))) == [.cue(.error), .indicate(.error)])
        #expect(c.handle(.backend(.session(.terminated))) == [])
        #expect(c.handle(.backend(.session(.creating))) == [])
        #expect(c.state.session == .error)
        #expect(c.handle(.backend(.session(.created))) == [.cue(.online), .indicate(.ready)])
    }

    @Test func theSessionVocabularyIsSeed000s() {
        var c = Conversation(ptt: Self.hold)
        #expect(c.state.session == .terminated)  // no session yet
        #expect(c.state.description == "link=offline session=terminated turn=idle")
        _ = c.handle(.backend(.link(.connecting)))
        _ = c.handle(.backend(.session(.creating)))
        #expect(c.state.description == "link=connecting session=creating turn=idle")
    }

    @Test func holdToTalkTurn() {
        var c = connected()
        #expect(c.handle(.micFrames(speech)) == [])  // not listening: nothing leaves
        #expect(c.handle(.board(.pttPressed)) == [.cue(.listening), .indicate(.listening)])
        #expect(c.handle(.micFrames(speech)) == [.send(.append(speech))])
        #expect(c.handle(.board(.pttReleased)) == [.send(.commit), .cue(.listeningEnd), .indicate(.thinking)])
        #expect(c.handle(.backend(.responseStarted)) == [])
        #expect(c.handle(.backend(.audio([1, 2, 3]))) == [.play([1, 2, 3]), .indicate(.speaking)])
        #expect(c.handle(.playbackDrained) == [])  // more may come until responseDone
        #expect(c.handle(.backend(.responseDone)) == [])
        #expect(c.handle(.playbackDrained) == [.indicate(.ready)])
        #expect(c.state.turn == .idle)
    }

    @Test func tooShortTurnIsClearedNotCommitted() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(Array(speech.prefix(2399))))  // 99.96 ms
        #expect(c.handle(.board(.pttReleased)) == [.send(.clear), .cue(.tooShort), .indicate(.ready)])
    }

    @Test func pressWhileSpeakingBargesIn() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        _ = c.handle(.backend(.audio(speech)))
        #expect(c.handle(.board(.pttPressed)) == [.stopPlaybackAndCancel, .cue(.listening), .indicate(.listening)])
        // The cancelled response's late audio is not played into the new turn.
        #expect(c.handle(.backend(.audio(speech))) == [])
    }

    @Test func pressWhileThinkingCancelsTheResponse() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        #expect(c.handle(.board(.pttPressed)).first == .send(.cancelResponse(playedMilliseconds: 0)))
    }

    @Test func toggleModeTapsStartAndEnd() {
        var ptt = Self.hold
        ptt.mode = .toggle
        var c = connected(ptt)
        _ = c.handle(.board(.pttPressed))
        #expect(c.handle(.board(.pttReleased)) == [])
        _ = c.handle(.micFrames(speech))
        #expect(c.handle(.board(.pttPressed)) == [.send(.commit), .cue(.listeningEnd), .indicate(.thinking)])
    }

    @Test func pressWhileOfflineOnlyCues() {
        var c = Conversation(ptt: Self.hold)
        #expect(c.handle(.board(.pttPressed)) == [.cue(.offline)])
        #expect(c.state.turn == .idle)
    }

    @Test func linkLossEndsTheTurnAndSilencesTheSpeaker() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        #expect(c.handle(.backend(.link(.error))) == [.cue(.error), .indicate(.error)])
        #expect(c.state == DeviceState(link: .error, session: .terminated, turn: .idle))

        c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        _ = c.handle(.backend(.audio(speech)))
        #expect(c.handle(.backend(.link(.offline))) == [.stopPlayback, .cue(.offline), .indicate(.offline)])
    }

    @Test func audioDeviceLossShowsErrorAndDropsTheTurn() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        #expect(c.handle(.audioDevice(lost: true)) == [.send(.clear), .cue(.error), .indicate(.error)])
        #expect(c.handle(.board(.pttPressed)) == [.cue(.offline)])  // no microphone: no turn
        #expect(c.handle(.audioDevice(lost: false)) == [.indicate(.ready)])
        #expect(c.handle(.board(.pttPressed)) == [.cue(.listening), .indicate(.listening)])
    }

    @Test func readyOnceThenOfflineAndBackOnline() {
        var c = connected()
        #expect(c.handle(.backend(.link(.connecting))) == [.cue(.offline), .indicate(.connecting)])
        #expect(c.handle(.backend(.link(.connected))) == [])
        #expect(c.handle(.backend(.session(.created))) == [.cue(.online), .indicate(.ready)])
        // A second "lost" report while already lost cues nothing.
        #expect(c.handle(.audioDevice(lost: true)).contains(.cue(.error)))
        #expect(c.handle(.audioDevice(lost: true)) == [])
    }

    @Test func turnStartsWithThePrerollAndItDoesNotCountAsHeld() {
        var c = Conversation(ptt: Self.hold, prerollMilliseconds: 200)
        for event in [ConversationInput.backend(.link(.connected)), .backend(.session(.created))] { _ = c.handle(event) }
        let older = [Int16](repeating: 1, count: 4800)
        let recent = [Int16](repeating: 2, count: 4800)  // the last 200 ms before the press
        _ = c.handle(.micFrames(older))
        _ = c.handle(.micFrames(recent))
        #expect(c.handle(.board(.pttPressed)) == [.send(.append(recent)), .cue(.listening), .indicate(.listening)])
        // A tap: 200 ms of pre-roll went out, but the button was held for nothing.
        #expect(c.handle(.board(.pttReleased)) == [.send(.clear), .cue(.tooShort), .indicate(.ready)])
    }

    @Test func typedTurnInterruptsAndThinks() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        _ = c.handle(.backend(.audio(speech)))
        #expect(c.handle(.typed("is the pump on")) == [.stopPlaybackAndCancel, .send(.text("is the pump on")),
                                                       .indicate(.thinking)])
        // Typing while holding the button drops the spoken turn for the typed one.
        c = connected()
        _ = c.handle(.board(.pttPressed))
        #expect(c.handle(.typed("status")) == [.send(.clear), .send(.text("status")), .indicate(.thinking)])
        var offline = Conversation(ptt: Self.hold)
        #expect(offline.handle(.typed("hello")) == [.cue(.offline)])
    }

    @Test func muteSendsNothingAndRefusesTurns() {
        var c = Conversation(ptt: Self.hold, prerollMilliseconds: 200)
        for event in [ConversationInput.backend(.link(.connected)), .backend(.session(.created))] { _ = c.handle(event) }
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttPressed))
        #expect(c.handle(.mute(true)) == [.send(.clear), .indicate(.ready)])
        #expect(c.handle(.micFrames(speech)) == [])
        _ = c.handle(.board(.pttReleased))
        #expect(c.handle(.board(.pttPressed)) == [.cue(.error)])
        _ = c.handle(.board(.pttReleased))
        #expect(c.handle(.mute(false)) == [])
        // Nothing heard while muted is in the pre-roll of the next turn.
        #expect(c.handle(.board(.pttPressed)) == [.cue(.listening), .indicate(.listening)])
    }

    // MARK: long press, hands-free, functions

    func thinking(_ ptt: PTTSettings = hold) -> Conversation {
        var c = connected(ptt)
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        return c
    }

    @Test func aLongPressCancelsAToggleTurnButNotAHeldOne() {
        var toggle = Self.hold
        toggle.mode = .toggle
        var c = connected(toggle)
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        #expect(c.handle(.board(.pttLongPressed)) == [.send(.clear), .cue(.cancelled), .indicate(.ready)])
        #expect(c.handle(.micFrames(speech)) == [])
        #expect(c.handle(.board(.pttReleased)) == [])
        // Hold mode: holding is talking, however long.
        c = connected()
        _ = c.handle(.board(.pttPressed))
        #expect(c.handle(.board(.pttLongPressed)) == [])
        _ = c.handle(.micFrames(speech))
        #expect(c.handle(.board(.pttReleased)) == [.send(.commit), .cue(.listeningEnd), .indicate(.thinking)])
    }

    @Test func handsFreeStreamsAllTheTimeAndFollowsTheServersTurns() {
        var ptt = Self.hold
        ptt.mode = .vad
        var c = connected(ptt)
        #expect(c.handle(.micFrames(speech)) == [.send(.append(speech))])
        #expect(c.handle(.backend(.speechStarted)) == [.indicate(.listening)])
        #expect(c.handle(.backend(.speechStopped)) == [.indicate(.thinking)])
        #expect(c.handle(.backend(.responseStarted)) == [])
        #expect(c.handle(.backend(.audio([5]))) == [.play([5]), .indicate(.speaking)])
        // Still streaming while the assistant speaks: the server may hear an interruption.
        #expect(c.handle(.micFrames(speech)) == [.send(.append(speech))])
        #expect(c.handle(.backend(.speechStarted)) == [.stopPlaybackAndCancel, .indicate(.listening)])
        // The button mutes and unmutes; releases and long presses mean nothing.
        #expect(c.handle(.board(.pttPressed)) == [.send(.clear), .cue(.listeningEnd), .indicate(.ready)])
        #expect(c.handle(.micFrames(speech)) == [])
        #expect(c.handle(.backend(.speechStarted)) == [])
        #expect(c.handle(.board(.pttReleased)) == [])
        #expect(c.handle(.board(.pttLongPressed)) == [])
        #expect(c.handle(.board(.pttPressed)) == [.cue(.listening)])
        #expect(c.handle(.micFrames(speech)) == [.send(.append(speech))])
    }

    @Test func aServerStartedAnswerIsPlayedInHandsFreeMode() {
        var ptt = Self.hold
        ptt.mode = .vad
        var c = connected(ptt)
        _ = c.handle(.backend(.responseStarted))
        #expect(c.handle(.backend(.audio([7]))) == [.play([7]), .indicate(.speaking)])
    }

    @Test func switchingModesEndsTheTurnAndTellsTheBackend() {
        var c = connected()
        _ = c.handle(.board(.pttPressed))
        var vad = Self.hold
        vad.mode = .vad
        vad.vadKind = "server_vad"
        let toVAD = c.update(ptt: vad)
        #expect(toVAD == [.send(.clear), .send(.handsFree("server_vad"))])
        #expect(c.state.turn == .idle)
        let same = c.update(ptt: vad)
        #expect(same == [])
        let back = c.update(ptt: Self.hold)
        #expect(back == [.send(.handsFree(nil))])
        var longer = Self.hold
        longer.longPressMilliseconds = 5000
        let onlyLonger = c.update(ptt: longer)
        #expect(onlyLonger == [])
    }

    @Test func aFunctionCallRunsAndItsOutputAsksForTheAnswer() {
        var c = thinking()
        let call = ToolCall(callID: "call_1", name: "device_status", arguments: "{}")
        #expect(c.handle(.backend(.responseStarted)) == [])
        #expect(c.handle(.backend(.toolCall(call))) == [.runTool(call)])
        // The calling response ends; the turn is not over while the function runs.
        #expect(c.handle(.backend(.responseDone)) == [])
        #expect(c.state.turn == .thinking)
        #expect(c.handle(.toolResult(callID: "call_1", output: "{}")) ==
                [.send(.toolOutput(callID: "call_1", output: "{}", respond: true))])
        #expect(c.state.turn == .thinking)
        #expect(c.handle(.backend(.responseStarted)) == [])
        #expect(c.handle(.backend(.audio([1]))) == [.play([1]), .indicate(.speaking)])
        _ = c.handle(.backend(.responseDone))
        #expect(c.handle(.playbackDrained) == [.indicate(.ready)])
    }

    @Test func theAnswerWaitsForTheLastOfParallelCallsAndSurvivesAFastOutput() {
        var c = thinking()
        _ = c.handle(.backend(.responseStarted))
        _ = c.handle(.backend(.audio([1])))  // "let me check"
        _ = c.handle(.backend(.toolCall(ToolCall(callID: "a", name: "x", arguments: "{}"))))
        _ = c.handle(.backend(.toolCall(ToolCall(callID: "b", name: "y", arguments: "{}"))))
        #expect(c.handle(.toolResult(callID: "b", output: "2")) == [.send(.toolOutput(callID: "b", output: "2", respond: false))])
        #expect(c.handle(.toolResult(callID: "a", output: "1")) == [.send(.toolOutput(callID: "a", output: "1", respond: true))])
        // The calling response's own done arrives after the outputs: still waiting for the answer.
        _ = c.handle(.backend(.responseDone))
        #expect(c.handle(.playbackDrained) == [.indicate(.thinking)])
        _ = c.handle(.backend(.responseStarted))
        #expect(c.handle(.backend(.audio([2]))) == [.play([2]), .indicate(.speaking)])
    }

    @Test func anOutputAfterTheTechnicianMovedOnIsKeptButNotAnswered() {
        var c = thinking()
        _ = c.handle(.backend(.responseStarted))
        _ = c.handle(.backend(.toolCall(ToolCall(callID: "slow", name: "http", arguments: "{}"))))
        _ = c.handle(.board(.pttPressed))  // a new turn while the function runs
        #expect(c.handle(.toolResult(callID: "slow", output: "late")) ==
                [.send(.toolOutput(callID: "slow", output: "late", respond: false))])
        // A call from no turn (idle) is not run.
        var idle = connected()
        #expect(idle.handle(.backend(.toolCall(ToolCall(callID: "x", name: "y", arguments: "{}")))) == [])
    }

    @Test func cancelButtonDropsWhatIsSaidOrStopsTheAnswer() {
        var c = connected()
        #expect(c.handle(.board(.cancel)) == [])  // nothing to cancel
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        #expect(c.handle(.board(.cancel)) == [.send(.clear), .cue(.cancelled), .indicate(.ready)])
        #expect(c.handle(.board(.pttReleased)) == [])  // the release of a cancelled turn sends nothing
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        #expect(c.handle(.board(.cancel)) == [.send(.cancelResponse(playedMilliseconds: 0)), .cue(.cancelled), .indicate(.ready)])
        #expect(c.handle(.backend(.audio([1, 2]))) == [])  // the cancelled answer stays silent
        _ = c.handle(.board(.pttPressed))
        _ = c.handle(.micFrames(speech))
        _ = c.handle(.board(.pttReleased))
        _ = c.handle(.backend(.audio([1, 2])))
        #expect(c.handle(.board(.cancel)) == [.stopPlaybackAndCancel, .cue(.cancelled), .indicate(.ready)])
    }

    @Test func volumeButtonsStepInAnyState() {
        var c = Conversation(ptt: Self.hold)  // offline, too
        #expect(c.handle(.board(.volumeUp)) == [.stepVolume(1)])
        #expect(c.handle(.board(.volumeDown)) == [.stepVolume(-1)])
    }
}
