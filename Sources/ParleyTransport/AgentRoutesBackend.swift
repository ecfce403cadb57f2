import FoundationEssentials
import Logging
import ParleyHTTP
import ParleyRealtime
import ParleySpeech
import ParleyWebSocket

/// The agent routes relay (seed 000): a Socket.io connection for the relay's status plane and
/// a realtime session created over REST and joined as a room, both identified by the user id.
/// The relay's `session_status` and `webrtc_status` drive the link and session states (so the
/// LEDs); a terminated or failed session is replaced. With `media = webrtc` the turns ride a
/// WebRTC call whose offer the relay forwards (`call`: the Realtime session on a WebRTC link,
/// AgentRoutesBackend+Call.swift). With `media = chat` they go through the relay's chat
/// completions route — typed, or spoken and transcribed by an OpenAI transcription session —
/// and the answer is spoken on the device with espeak-ng.
public actor AgentRoutesBackend: VoiceBackend, SupervisedLink {
    public struct Settings: Sendable {
        public var baseURL: String
        public var userID: String
        /// Model of the realtime session.
        public var model: String
        /// Model of the chat completions that answer turns.
        public var chatModel: String
        public var instructions: String
        public var reconnectInitialMilliseconds: Int
        public var reconnectMaxMilliseconds: Int
        /// Exchanges kept as context for the next turn.
        public var historyTurns = 10
        /// A session is replaced this long before it expires (at a quiet moment).
        public var renewBefore: Duration = .seconds(60)

        public init(baseURL: String, userID: String, model: String, chatModel: String, instructions: String,
                    reconnectInitialMilliseconds: Int, reconnectMaxMilliseconds: Int) {
            self.baseURL = baseURL
            self.userID = userID
            self.model = model
            self.chatModel = chatModel
            self.instructions = instructions
            self.reconnectInitialMilliseconds = reconnectInitialMilliseconds
            self.reconnectMaxMilliseconds = reconnectMaxMilliseconds
        }
    }

    public nonisolated let name = "agent_routes"
    public nonisolated let events: AsyncStream<BackendEvent>
    let continuation: AsyncStream<BackendEvent>.Continuation
    let settings: Settings
    let api: AgentRoutesAPI
    let speech: AnswerVoice
    let transcriber: SpeechTranscriber?
    let logger: Logger
    private let socket: SocketIOClient
    /// The socket's reconnects.
    var supervisor: LinkSupervisor
    var backoff: Task<Void, Never>?
    /// What the device shows: the relay's plane and the call (AgentRoutesStatus).
    var status: AgentRoutesStatus
    /// media = webrtc: the call carrying the turns; nil: chat completions.
    let call: OpenAIRealtimeBackend?
    var callTask: Task<Void, Never>?

    /// The socket is connected (Socket.IO handshake done).
    private var socketUp = false
    /// Each socket connection's number: a join counts for the connection it was sent on only.
    private var connection = 0
    /// Why the device itself closed the socket (an operator reconnect).
    private var ending: LinkEnd?
    /// The relay session we own, and whether this socket connection joined its room.
    private var session: AgentRoutesAPI.Session?
    private var joined = false
    private var news = RelaySessionNews()
    /// The relay failed the session's media (`webrtc_status` error): replace the session.
    private var replaceSession = false
    /// No session work before this (backoff after a failure).
    private var sessionRetryAt = ContinuousClock.now
    /// Session creation's retries: seed 000's relay retries its calls 3 times with exponential
    /// backoff; the device does the same, then waits `reconnectMaxMilliseconds` between tries.
    private let sessionRetry: RetryPolicy
    private var sessionFailures = 0
    private var sessionFailure: String?
    private let sessionWakeups: AsyncStream<Void>
    private let sessionWake: AsyncStream<Void>.Continuation
    private var sessionTimer: Task<Void, Never>?
    private var malformedLogged = false

    // Turns (AgentRoutesBackend+Turns.swift).
    var history: [JSONValue] = []
    var turn: Task<Void, Never>?
    var turnID = 0
    var warnedHandsFree = false

    public init(settings: Settings, connector: any WebSocketConnector, http: HTTPClient, voice: SpeechSynthesizer,
                transcription: TranscriptionEndpoint?, call: OpenAIRealtimeBackend? = nil, logger: Logger) {
        self.settings = settings
        self.call = call
        self.logger = logger
        api = AgentRoutesAPI(baseURL: settings.baseURL, userID: settings.userID, http: http)
        socket = SocketIOClient(connector: connector)
        sessionRetry = RetryPolicy(initialMilliseconds: settings.reconnectInitialMilliseconds,
                                   maximumMilliseconds: settings.reconnectMaxMilliseconds, doublingTries: 3)
        supervisor = LinkSupervisor(name: "agent_routes: socket", policy: RetryPolicy(
            initialMilliseconds: settings.reconnectInitialMilliseconds, maximumMilliseconds: settings.reconnectMaxMilliseconds))
        status = AgentRoutesStatus(callMode: call != nil)
        (sessionWakeups, sessionWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        transcriber = SpeechTranscriber(transcription, for: "agent_routes", connector: connector, logger: logger)
        let (events, continuation) = AsyncStream.makeStream(of: BackendEvent.self)
        (self.events, self.continuation) = (events, continuation)
        speech = AnswerVoice(voice: voice) { continuation.yield(.audio($0)) }
    }

    public func run() async throws {
        if transcriber == nil && call == nil {
            logger.notice("agent_routes: no transcription key (backend.agent_routes.transcription_key_file): typed turns only (parleyctl say)")
        }
        let transcription = Task { await transcriber?.run() }
        // Detached: the WebSocket client closes on graceful shutdown (a task local that other
        // tasks inherit), and the room must be left on the open socket first.
        let connection = Task.detached { await self.superviseLink() }
        let sessions = Task { await keepSession() }
        let forwarding = Task { await forwardCall() }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        // Stopping: leave the room while the socket is still up, end the session on the relay.
        sessions.cancel()
        sessionTimer?.cancel()
        await endCall()
        forwarding.cancel()
        turn?.cancel()
        transcription.cancel()
        await Task.detached { await self.goodbye() }.value
        connection.cancel()
        await socket.close()
        await connection.value
    }

    public func reconnect() async {
        if !cutBackoff() {
            ending = .operatorReconnect
            await socket.close()
        }
        await call?.reconnect()
    }

    /// A link or session change of the relay's plane or the call, shown as `AgentRoutesStatus` says.
    func show(_ input: AgentRoutesStatus.Input) {
        for event in status.handle(input) { continuation.yield(event) }
    }

    /// The socket supervisor's link states go through the status; its errors are counted.
    func report(_ event: BackendEvent) {
        if case .link(let state) = event { show(.socket(state)) } else { continuation.yield(event) }
    }

    // MARK: the socket

    /// One socket connection: the status plane and the room. Its end, in the device's words.
    func connectOnce() async -> LinkEnd {
        ending = nil
        let url = SocketIOClient.url(base: settings.baseURL, query: [("userId", settings.userID)])
        var failure: String
        do {
            failure = try await socket.run(url: url, handlers: .init(
                connected: { await self.socketConnected() },
                event: { name, arguments in await self.received(name, arguments) },
                malformed: { error in await self.malformed(error) }))
        } catch {
            failure = "\(error)"
        }
        socketUp = false
        joined = false
        return ending ?? .failed(BackendError(.connection, failure))
    }

    private func socketConnected() {
        logger.info("agent_routes: socket connected as user \(settings.userID)")
        socketUp = true
        connection &+= 1
        malformedLogged = false
        linkReady()
        pokeSession()
    }

    private func malformed(_ error: String) {
        if !malformedLogged { logger.warning("agent_routes: socket: \(error); skipped") }
        malformedLogged = true
        continuation.yield(.error(BackendError(.protocol, "agent_routes: socket: \(error)", logged: true)))
    }

    private func received(_ name: String, _ arguments: [JSONValue]) {
        let data = arguments.first ?? .null
        let status = data["status"]?.string ?? ""
        switch name {
        case "connection_status":
            logger.debug("agent_routes: connection status \(status)")
        case "session_status":
            sessionStatus(data["sessionId"]?.string ?? "", status, data)
        case "webrtc_status":
            webRTCStatus(status, data)
        case "error":
            let message = data["message"]?.string ?? data.string ?? data.text()
            logger.warning("agent_routes: the relay reports an error: \(message)")
            continuation.yield(.error(BackendError(.server, "agent_routes: relay error: \(message)", logged: true)))
        case "user_joined", "user_left":
            let user = data["userId"]?.string ?? "?"
            let room = data["sessionId"]?.string ?? "?"
            logger.info("agent_routes: user \(user) \(name == "user_joined" ? "joined" : "left") session \(room)")
        default:
            logger.debug("agent_routes: event \(name) ignored")
        }
    }

    private func sessionStatus(_ id: String, _ status: String, _ data: JSONValue) {
        switch news.read(id, status, ours: session?.id, joined: joined) {
        case .notShown:
            logger.debug("agent_routes: session \(id) is \(status) (not ours, or not joined yet)")
        case .shown(let state):
            show(.sessionStatus(state))
        case .ended(.terminated):
            logger.notice("agent_routes: the relay terminated session \(id); creating a new one")
            dropSession(.terminated)
        case .ended:
            let message = data["message"]?.string ?? data["error"]?.string ?? "no details"
            logger.error("agent_routes: session \(id) failed on the relay: \(message); creating a new one")
            continuation.yield(.error(BackendError(.server, "agent_routes: session error: \(message)", logged: true)))
            dropSession(.error)
            sessionRetryAt = .now + .milliseconds(sessionRetry.initialMilliseconds)
        case .malformed:
            malformed("session_status \(status.isEmpty ? "without a status" : "\"\(status)\"") for \(id)")
        }
    }

    private func webRTCStatus(_ status: String, _ data: JSONValue) {
        switch status {
        case "connecting":
            show(.webRTCStatus(.connecting))
        case "connected":
            guard socketUp else { return }
            show(.webRTCStatus(.connected))
        case "error":
            let message = data["message"]?.string ?? data["error"]?.string ?? "no details"
            logger.error("agent_routes: the relay reports a WebRTC failure (model \(data["model"]?.string ?? "?")): \(message); replacing the session")
            continuation.yield(.error(BackendError(.server, "agent_routes: webrtc error: \(message)", logged: true)))
            show(.webRTCStatus(.error))
            replaceSession = true
            pokeSession()
            if let call { Task { await call.redial(.relayError("the relay reports a WebRTC failure: \(message)")) } }
        default:
            malformed("webrtc_status \(status.isEmpty ? "without a status" : "\"\(status)\"")")
        }
    }

    private func dropSession(_ state: SessionState) {
        session = nil
        joined = false
        show(.sessionLost(state))
        pokeSession()
    }

    // MARK: the session

    /// Brings the relay session in line with the socket: create one when there is none, join
    /// its room on each new socket connection (after checking the relay still lists it),
    /// replace it when it expires or its media failed.
    /// Looked at when something changed (`pokeSession`: the socket up, a session dropped or
    /// failed, its media failed, a turn ended) or a deadline came (a retry, an expiry): no polling.
    private func keepSession() async {
        for await _ in sessionWakeups {
            guard socketUp else { continue }  // the socket's connect pokes again
            guard ContinuousClock.now >= sessionRetryAt else {
                wakeSession(at: sessionRetryAt)
                continue
            }
            do {
                if session == nil {
                    try await startSession()
                } else if replaceSession || expiresSoon {
                    guard turn == nil else { continue }  // at a quiet moment: the turn's end pokes
                    try await renewSession()
                } else if !joined {
                    try await rejoinSession()
                } else {
                    wakeForExpiry()
                    continue
                }
                if sessionFailure != nil { logger.notice("agent_routes: session ready again") }
                sessionFailure = nil
                sessionFailures = 0
                pokeSession()  // once more: something may have changed while it worked
            } catch {
                guard !Task.isCancelled else { return }
                sessionFailures += 1
                let wait = sessionRetry.jittered(sessionRetry.wait(afterFailures: sessionFailures, auth: error.kind == .auth),
                                                 random: .random(in: -1...1))
                if error.message != sessionFailure {
                    logger.error("agent_routes: \(error.message); retrying in \(wait) ms")
                }
                sessionFailure = error.message
                continuation.yield(.error(BackendError(error.kind, "agent_routes: \(error.message)", logged: true)))
                if session == nil { show(.sessionLost(.error)) }
                sessionRetryAt = .now + .milliseconds(wait)
                wakeSession(at: sessionRetryAt)
            }
        }
    }

    /// Session work to look at.
    func pokeSession() { sessionWake.yield() }

    /// One deadline at a time: a retry, or the renewal before the session expires.
    private func wakeSession(at deadline: ContinuousClock.Instant) {
        sessionTimer?.cancel()
        sessionTimer = Task { [weak self] in
            do { try await Task.sleep(until: deadline) } catch { return }
            await self?.pokeSession()
        }
    }

    private func wakeForExpiry() {
        guard let seconds = secondsToRenewal else { return }
        wakeSession(at: .now + .milliseconds(Int(max(0, seconds) * 1000)))
    }

    private var expiresSoon: Bool { (secondsToRenewal ?? .infinity) <= 0 }

    /// Until the session is due to be replaced (`renewBefore` its expiry); nil: it never expires.
    private var secondsToRenewal: Double? {
        session?.expiresAt.map { $0.timeIntervalSinceNow - Double(settings.renewBefore.components.seconds) }
    }

    private func startSession() async throws(RelayFailure) {
        show(.sessionStatus(.creating))
        let active = try await api.health()
        let created = try await api.createSession(model: settings.model)
        logger.info("agent_routes: session \(created.id) (\(created.model)) created\(active.map { "; the relay had \($0) active" } ?? "")")
        try await join(created)
    }

    /// A new session first, then the old one left and ended: the device stays ready throughout.
    private func renewSession() async throws(RelayFailure) {
        let old = session
        let why = replaceSession ? "its media failed" : "it expires soon"
        replaceSession = false
        let created = try await api.createSession(model: settings.model)
        logger.info("agent_routes: session \(created.id) replaces \(old?.id ?? "none") (\(why))")
        try await join(created)
        if let old { await leave(old) }
    }

    private func rejoinSession() async throws(RelayFailure) {
        guard let current = session else { return }
        if try await api.sessions().contains(current.id) {
            try await join(current)
        } else {
            logger.notice("agent_routes: session \(current.id) is gone from the relay; creating a new one")
            dropSession(.terminated)
        }
    }

    private func join(_ joining: AgentRoutesAPI.Session) async throws(RelayFailure) {
        session = joining
        let on = connection
        guard await socket.emit("join_session", ["sessionId": .string(joining.id)]) else {
            throw RelayFailure(.connection, "socket closed before join_session")
        }
        // The socket dropped (and maybe came back) while the join went out: it joined the old
        // connection's room, or none; the connect pokes the session loop to join again.
        guard on == connection, socketUp else { return }
        joined = true
        show(.joined)
        startCall()
    }

    /// `leave_session` while connected, then `DELETE` (best effort: the relay ends it anyway).
    private func leave(_ old: AgentRoutesAPI.Session) async {
        _ = await socket.emit("leave_session", ["sessionId": .string(old.id)])
        do { try await api.deleteSession(old.id) } catch {
            logger.warning("agent_routes: ending session \(old.id): \(error.message)")
        }
    }

    private func goodbye() async {
        guard let current = session else { return }
        session = nil
        await leave(current)
        logger.info("agent_routes: session \(current.id) ended")
    }
}
