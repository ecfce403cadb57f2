import ParleyTransport
import ParleyConfig

/// The conversation's answers to what the backend reports: link and session changes,
/// the assistant's audio and its function calls.
extension Conversation {
    mutating func backendEvent(_ event: BackendEvent) -> [Effect] {
        switch event {
        case .link(let link):
            let wasReady = state.isReady
            // An error shows until the link is back: redialling after it is still the outage.
            state.link = state.link == .error && link == .connecting ? .error : link
            guard link != .connected else { return [] }
            let wasSpeaking = state.turn == .speaking
            // The session ended with the link; a failed one stays failed until its
            // replacement is created, so the error shows until then.
            if state.session != .error { state.session = .terminated }
            state.turn = .idle
            forgetTools()
            var effects: [Effect] = wasSpeaking ? [.stopPlayback] : []
            if wasReady { effects.append(.cue(link == .error ? .error : .offline)) }
            return effects
        case .session(let session):
            let wasReady = state.isReady
            // A failed session stays failed (the error LED) until its replacement is created.
            state.session = state.session == .error && session != .created ? .error : session
            if session != .created {
                state.turn = .idle
                forgetTools()
            }
            if !wasReady && state.isReady {
                defer { wasEverReady = true }
                return [.cue(wasEverReady ? .online : .ready)]
            }
            return wasReady && session == .error ? [.cue(.error)] : []
        case .responseStarted:
            responseComplete = false
            awaitingAnswer = false
            // Hands-free: the server answers on its own when the technician stops talking.
            if mode == .vad && (state.turn == .idle || state.turn == .failed) { state.turn = .thinking }
            return []
        case .audio(let samples):
            guard state.turn == .thinking || state.turn == .speaking else { return [] }
            state.turn = .speaking
            return [.play(samples)]
        case .responseDone:
            responseComplete = true
            if state.turn == .thinking && !waitingForMore { state.turn = .idle }
            return []
        case .speechStarted:
            guard mode == .vad, state.isReady, !state.muted else { return [] }
            // The server heard the technician: it stops its answer (interrupt_response);
            // the speaker stops here and the item is truncated to what was heard.
            let effects: [Effect] = state.turn == .speaking ? [.stopPlaybackAndCancel] : []
            state.turn = .listening
            forgetTools()
            return effects
        case .speechStopped:
            guard mode == .vad, state.turn == .listening else { return [] }
            state.turn = .thinking
            responseComplete = false
            return []
        case .toolCall(let call):
            // Only the turn being answered calls functions (the backend drops cancelled ones).
            guard state.turn == .thinking || state.turn == .speaking else { return [] }
            pendingTools.insert(call.callID)
            return [.runTool(call)]
        case .responseFailed:
            // Only a turn waiting for its answer fails; a later turn has moved on.
            guard state.turn == .thinking else { return [] }
            state.turn = .failed
            responseComplete = true
            forgetTools()
            return [.cue(.error), .showFailure]
        case .transcript, .error:
            return []
        }
    }

    /// Function calls or their answer still to come: the turn is not over.
    var waitingForMore: Bool { !pendingTools.isEmpty || awaitingAnswer }

    mutating func forgetTools() {
        pendingTools.removeAll()
        awaitingAnswer = false
    }

    /// A function's output always goes back (the conversation must hold it); the answer is
    /// asked for once the turn's last pending call is in and nobody has moved on.
    mutating func toolResult(callID: String, output: String) -> [Effect] {
        let waited = pendingTools.remove(callID) != nil
        let respond = waited && pendingTools.isEmpty && (state.turn == .thinking || state.turn == .speaking)
        // Until the answer starts, a response.done is the calling response's own.
        if respond { awaitingAnswer = true }
        return [.send(.toolOutput(callID: callID, output: output, respond: respond))]
    }
}
