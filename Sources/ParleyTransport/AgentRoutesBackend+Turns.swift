import ParleyRealtime
import ParleySpeech
import Logging

/// Turns on the agent routes relay: over the call (media = webrtc), or the turn's text (typed,
/// or transcribed) to `POST /api/agent/chat/completions` with the recent exchanges as context,
/// the answer spoken on the device sentence by sentence (media = chat).
extension AgentRoutesBackend {
    public func send(_ command: BackendCommand) async {
        if let call {
            await call.send(command)
            return
        }
        switch command {
        case .append(let samples):
            await transcriber?.append(samples)
        case .clear:
            await transcriber?.clear()
        case .commit:
            let id = nextTurn()
            if let text = await SpeechTranscriber.spokenTurn(transcriber, for: name, report: { continuation.yield($0) },
                                                             stillWanted: { id == turnID }) {
                answer(text, id)
            }
        case .text(let text):
            continuation.yield(.transcript(role: .user, text: text))
            answer(text, nextTurn())
        case .cancelResponse:
            // Stop the request or the speech; the conversation already ended the turn.
            turnID += 1
            turn?.cancel()
            turn = nil
            pokeSession()
            await speech.silence()
        case .toolOutput:
            break
        case .handsFree(let kind):
            if kind != nil && !warnedHandsFree {
                warnedHandsFree = true
                logger.warning("agent_routes: hands-free mode needs the relay's WebRTC media (backend.agent_routes.media = webrtc); use hold or toggle")
            }
        }
    }

    private func nextTurn() -> Int {
        turnID += 1
        return turnID
    }

    private func answer(_ text: String, _ id: Int) {
        turn?.cancel()
        turn = Task { await self.ask(text, id) }
    }

    private func ask(_ text: String, _ id: Int) async {
        defer {
            if id == turnID {
                turn = nil
                pokeSession()  // a renewal waiting for a quiet moment
            }
        }
        let question: JSONValue = ["role": "user", "content": .string(text)]
        let messages: [JSONValue] = [["role": "system", "content": .string(settings.instructions)]] + history + [question]
        let reply: String
        do {
            reply = try await api.chat(model: settings.chatModel, messages: messages)
        } catch {
            guard id == turnID, !Task.isCancelled else { return }
            logger.error("agent_routes: \(error.message)")
            continuation.yield(.error(BackendError(error.kind, "agent_routes: \(error.message)", logged: true)))
            continuation.yield(.responseDone)
            return
        }
        guard id == turnID, !Task.isCancelled else { return }
        history += [question, ["role": "assistant", "content": .string(reply)]]
        history = Array(history.suffix(settings.historyTurns * 2))
        continuation.yield(.responseStarted)
        var splitter = SentenceSplitter()
        for sentence in splitter.append(reply) { await speech.say(sentence) }
        if let rest = splitter.finish() { await speech.say(rest) }
        guard await speech.finished(), id == turnID else { return }
        continuation.yield(.transcript(role: .assistant, text: reply))
        continuation.yield(.responseDone)
    }
}
