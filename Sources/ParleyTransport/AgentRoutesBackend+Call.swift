/// media = webrtc: the turns ride one WebRTC call (the OpenAI backend on a WebRTC link whose
import Logging
/// offer the relay forwards), started once a relay session is joined and kept up by its own
/// reconnects. The call's link and session are what the technician sees, but for the relay's
/// failures (AgentRoutesStatus).
extension AgentRoutesBackend {
    func startCall() {
        guard let call, callTask == nil else { return }
        logger.info("agent_routes: calling through the relay (model \(settings.model))")
        callTask = Task { try? await call.run() }
    }

    func endCall() async {
        callTask?.cancel()
        await callTask?.value
    }

    /// The call's events are the conversation's; its link and session go through the status.
    func forwardCall() async {
        guard let call else { return }
        for await event in call.events {
            switch event {
            case .link, .session: show(.call(event))
            default: continuation.yield(event)
            }
        }
    }
}
