/// What the device shows on the agent routes relay (seed 000), pure: the relay's plane — its
/// Socket.io connection, our REST session and its `session_status`, `webrtc_status` — combined
/// with the call carrying the turns (media = webrtc). Each row of the status table in
/// docs/BACKENDS.md ("agent_routes") is a test of `handle`.
///
/// media = chat: the relay's plane is the link and session. media = webrtc: the call's own
/// link and session are shown, except that a relay failure — `webrtc_status` error, our
/// session's `session_status` error or terminated — shows until the replacement (the
/// re-dialled call, or the new session) is ready. The socket is only a status plane then:
/// its loss is logged, and turns go on over the call.
struct AgentRoutesStatus: Equatable {
    enum Input: Equatable {
        /// The socket's link (from its supervisor: connecting, connected, error, offline).
        case socket(LinkState)
        /// `session_status` for our session.
        case sessionStatus(SessionState)
        /// `webrtc_status`.
        case webRTCStatus(LinkState)
        /// A session was created (or found) over REST and its room joined.
        case joined
        /// Our session is gone (the relay no longer lists it, or it failed to be made).
        case sessionLost(SessionState)
        /// The call's own link or session state.
        case call(BackendEvent)
    }

    let callMode: Bool
    private var socketLink = LinkState.offline
    /// The relay's last `webrtc_status` for this session (media = chat shows it as the link).
    private var mediaLink: LinkState?
    private var relaySession = SessionState.terminated
    /// Our session failed or ended: that shows until a new one is joined.
    private var sessionEnded = false
    /// The relay failed our media: shown until the call (or media) is up again.
    private var mediaFailed = false
    private var callLink: LinkState?
    private var callSession: SessionState?
    /// What was last reported.
    private(set) var link = LinkState.offline
    private(set) var session = SessionState.terminated

    init(callMode: Bool) {
        self.callMode = callMode
    }

    /// The link and session changes to report, link first.
    mutating func handle(_ input: Input) -> [BackendEvent] {
        switch input {
        case .socket(let state):
            socketLink = state
            if state != .connected && !callMode { mediaFailed = false }
        case .sessionStatus(let state):
            // A failed or ended session stays so until a new one is joined.
            guard !sessionEnded else { break }
            relaySession = state
            sessionEnded = state == .error || state == .terminated
        case .webRTCStatus(let state):
            if state == .error { mediaFailed = true } else if state == .connected { mediaFailed = false }
            mediaLink = state
        case .joined:
            relaySession = .created
            sessionEnded = false
            mediaLink = nil
            if !callMode { mediaFailed = false }
        case .sessionLost(let state):
            relaySession = state
            sessionEnded = true
        case .call(.link(let state)):
            callLink = state
            if state != .connected { callSession = nil }
        case .call(.session(let state)):
            callSession = state
            if state == .created { mediaFailed = false }  // the re-dialled call is ready
        case .call:
            break
        }
        return shown()
    }

    private mutating func shown() -> [BackendEvent] {
        let newLink: LinkState
        let newSession: SessionState
        if callMode, let callLink {
            newLink = mediaFailed ? .error : callLink
            let relayProblem = relaySession == .error || relaySession == .terminated || relaySession == .creating
            newSession = relayProblem ? relaySession : callSession ?? .creating
        } else if socketLink == .connected {
            newLink = mediaFailed ? .error : mediaLink ?? .connected
            newSession = relaySession
        } else {
            newLink = socketLink
            newSession = relaySession
        }
        var events: [BackendEvent] = []
        if newLink != link { events.append(.link(newLink)) }
        if newSession != session || (newLink != link && newLink != .connected) { events.append(.session(newSession)) }
        link = newLink
        session = newSession
        return events
    }
}

/// What a `session_status` message says about the session the device holds. Seed 000's relay
/// emits creating → created to the user's room while `POST /sessions` runs; under load those
/// can arrive after the device has joined the new session from the REST reply. So a
/// "creating" means the joined session is being set up again only once its own "created"
/// was seen; before that it is the creation's own word, late.
struct RelaySessionNews {
    enum Meaning: Equatable {
        /// About another session, or ours before its room is joined: logged only.
        case notShown
        case shown(SessionState)
        /// Our session failed or ended on the relay: it is replaced.
        case ended(SessionState)
        case malformed
    }

    /// The last sessions seen created (the user's room: few at a time).
    private var created: [String] = []

    mutating func read(_ id: String, _ status: String, ours: String?, joined: Bool) -> Meaning {
        if status == "created" && !created.contains(id) {
            created = (created + [id]).suffix(4)
        }
        guard id == ours else { return .notShown }
        switch status {
        case "creating": return joined && created.contains(id) ? .shown(.creating) : .notShown
        case "created": return joined ? .shown(.created) : .notShown
        case "terminated": return .ended(.terminated)
        case "error": return .ended(.error)
        default: return .malformed
        }
    }
}
