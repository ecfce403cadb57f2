/// media = webrtc: the turns ride one WebRTC call (the OpenAI backend on a WebRTC link whose
/// offer the relay forwards), started once a relay session is joined and kept up by its own
/// reconnects. The call owns what the technician sees (link, session, answers); the relay's
/// plane only reports its errors, and its state until the call starts.
extension AgentRoutesBackend {
    /// A link or session state of the relay's plane: shown unless a call is carrying the turns.
    func plane(_ event: BackendEvent) {
        guard call == nil || callTask == nil else { return }
        continuation.yield(event)
    }

    func startCall() {
        guard let call, callTask == nil else { return }
        logger.info("agent_routes: calling through the relay (model \(settings.model))")
        callTask = Task { try? await call.run() }
    }

    func endCall() async {
        callTask?.cancel()
        await callTask?.value
    }

    /// The call's events are the conversation's.
    func forwardCall() async {
        guard let call else { return }
        for await event in call.events { continuation.yield(event) }
    }
}
