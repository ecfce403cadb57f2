#if WebRTC
import ParleyHTTP
import ParleyWebRTC
import Synchronization

/// The Realtime API over a WebRTC call: our offer goes out through the backend's signaling
/// route, audio travels as Opus on the media tracks, events on the `oai-events` data channel.
/// The link is open once ICE and DTLS are up, the peer's certificate matches the answer's
/// fingerprint, and the channel is open — all within `connectTimeout`.
public struct WebRTCRealtimeLink: RealtimeLink {
    public let signaling: WebRTCSignaling
    public let peer: WebRTCPeer.Settings
    public let connectTimeout: Duration
    private let http: HTTPClient
    /// Each call's id (OpenAI names one) and how many milliseconds offer → open took, for the log.
    private let onCall: @Sendable (_ callID: String?, _ setupMilliseconds: Int) -> Void

    public init(signaling: WebRTCSignaling, peer: WebRTCPeer.Settings, connectTimeout: Duration, http: HTTPClient,
                onCall: @escaping @Sendable (String?, Int) -> Void = { _, _ in }) {
        self.signaling = signaling
        self.peer = peer
        self.connectTimeout = connectTimeout
        self.http = http
        self.onCall = onCall
    }

    public var audioAsMedia: Bool { true }

    public func run(onOpen: @escaping @Sendable (any RealtimeLinkSender) async -> Void,
                    onText: @escaping @Sendable (String) async -> Void,
                    onAudio: @escaping @Sendable ([Int16]) async -> Void) async throws -> RealtimeLinkEnd {
        let started = ContinuousClock.now
        let call: WebRTCPeer
        do { call = try WebRTCPeer(settings: peer) } catch { throw RealtimeLinkError("webrtc: \(error)") }
        defer { call.close() }
        return try await withTaskCancellationHandler {
            let offer: String
            do { offer = try await call.makeOffer() } catch { throw RealtimeLinkError("webrtc: \(error)") }
            let (answer, server) = try await signaling.exchange(offer: offer, http: http)
            // However the call ends, the server hears of it: its side would otherwise stay
            // "connected" (webrtcbin sends no DTLS close_notify).
            let end: Result<RealtimeLinkEnd, any Error>
            do {
                do { try await call.accept(answer: answer) } catch { throw RealtimeLinkError("webrtc: \(error)") }
                end = .success(try await converse(call, started: started, callID: server?.id, onOpen: onOpen,
                                                  onText: onText, onAudio: onAudio))
            } catch {
                end = .failure(error)
            }
            call.close()
            if let server { await hangUp(server) }
            return try end.get()
        } onCancel: {
            // Not here: this runs holding the task's cancellation lock, and the teardown waits
            // for webrtcbin's thread, which may be resuming this task (an offer completing)
            // and so waiting for that lock — a stop that never ends.
            Task.detached { call.close() }
        }
    }

    /// Best effort, and short (the request's own 500 ms timeout): a stopping daemon still
    /// exits within its second. Detached from cancellation, so a stop still sends it.
    private func hangUp(_ call: WebRTCSignaling.Call) async {
        let http = http
        _ = await Task.detached { try? await http.perform(call.hangUp) }.value
    }

    private func converse(_ call: WebRTCPeer, started: ContinuousClock.Instant, callID: String?,
                          onOpen: @escaping @Sendable (any RealtimeLinkSender) async -> Void,
                          onText: @escaping @Sendable (String) async -> Void,
                          onAudio: @escaping @Sendable ([Int16]) async -> Void) async throws -> RealtimeLinkEnd {
        let open = Atomic<Bool>(false)
        let deadline = Task {
            try? await Task.sleep(until: started + connectTimeout)
            if !open.load(ordering: .acquiring) { call.close() }
        }
        defer { deadline.cancel() }
        var state = WebRTCPeer.PeerState.new
        var verified = false, channelOpen = false
        for await event in call.events {
            switch event {
            case .state(let new):
                state = new
                switch new {
                case .connected where !verified:
                    do { try call.verifyRemoteCertificate() } catch { throw RealtimeLinkError("webrtc: \(error)") }
                    verified = true
                case .failed, .closed:
                    let why = "the call \(new == .failed ? "failed (ICE or DTLS)" : "closed")"
                    if open.load(ordering: .acquiring) { return .failed(why) }
                    throw RealtimeLinkError("webrtc: \(why) while connecting")
                case .disconnected where open.load(ordering: .acquiring):
                    return .failed("the call's connection was lost (ICE disconnected)")
                default:
                    break
                }
            case .channelOpen:
                channelOpen = true
            case .channelClosed:
                if open.load(ordering: .acquiring) { return .failed("the peer closed the data channel") }
                throw RealtimeLinkError("webrtc: the peer closed the data channel while connecting")
            case .message(let text):
                await onText(text)
            case .audio(let samples):
                await onAudio(samples)
            case .failure(let why):
                // After a hang-up GStreamer's first word is often its SCTP writer failing.
                if open.load(ordering: .acquiring) { return .failed("the call broke (\(why))") }
                throw RealtimeLinkError("webrtc: \(why)")
            }
            if verified && channelOpen && !open.load(ordering: .acquiring) {
                open.store(true, ordering: .releasing)
                onCall(callID, Int((.now - started) / .milliseconds(1)))
                await onOpen(Sender(call: call))
            }
        }
        // The stream ended: we closed the call (hang-up, reconnect, or the connect deadline).
        if open.load(ordering: .acquiring) { return .normal("call closed") }
        throw RealtimeLinkError("webrtc: not connected within \(Int(connectTimeout / .milliseconds(1))) ms (connection \(state), certificate \(verified ? "verified" : "unchecked"), data channel \(channelOpen ? "open" : "closed"))")
    }

    private struct Sender: RealtimeLinkSender {
        let call: WebRTCPeer
        func send(_ text: String) async throws { try call.send(text) }
        func sendAudio(_ samples: [Int16]) async { call.pushAudio(samples) }
        func close() async { call.close() }
    }
}
#endif
