import Logging
import ParleyRealtime

/// OpenAI's Realtime API (GA) over one `RealtimeLink` — a WebSocket, or a WebRTC call whose
/// audio rides media tracks: session.update from config, push-to-talk turns as appends (or
/// media) + commit + response.create, the answer's audio to the speaker, barge-in as
/// response.cancel + conversation.item.truncate (WebRTC: + output_audio_buffer.clear),
/// reconnects with backoff.
public actor OpenAIRealtimeBackend: VoiceBackend, SupervisedLink {
    public struct Settings: Sendable {
        /// Names the backend in logs and metrics ("openai", "openai_webrtc", "office", "training").
        public var name: String
        public var session: RealtimeSessionConfig
        public var appendChunkMilliseconds: Int
        public var reconnectInitialMilliseconds: Int
        public var reconnectMaxMilliseconds: Int
        /// Sessions end at 60 minutes: a session this old is renewed at the next quiet moment.
        public var sessionRefreshSeconds: Int
        /// A connection without a session this long after it opened, or an answer the server
        /// went quiet on this long, is given up and the link reconnected.
        public var stallTimeoutMilliseconds: Int

        public init(name: String = "openai", session: RealtimeSessionConfig, appendChunkMilliseconds: Int,
                    reconnectInitialMilliseconds: Int, reconnectMaxMilliseconds: Int,
                    sessionRefreshSeconds: Int = 3300, stallTimeoutMilliseconds: Int = 15000) {
            self.name = name
            self.session = session
            self.appendChunkMilliseconds = appendChunkMilliseconds
            self.reconnectInitialMilliseconds = reconnectInitialMilliseconds
            self.reconnectMaxMilliseconds = reconnectMaxMilliseconds
            self.sessionRefreshSeconds = sessionRefreshSeconds
            self.stallTimeoutMilliseconds = stallTimeoutMilliseconds
        }
    }

    public nonisolated let name: String
    public nonisolated let events: AsyncStream<BackendEvent>
    private let continuation: AsyncStream<BackendEvent>.Continuation
    private var settings: Settings
    private let link: any RealtimeLink
    let logger: Logger
    private let chunkSamples: Int

    private var sender: (any RealtimeLinkSender)?
    /// The connection's events go out through this, in order; nothing here awaits the socket.
    private var writer: OrderedWriter?
    private var overflowLogged = false
    private var turn: RealtimeTurn
    /// WebRTC: remote audio reaches the speaker while the current answer plays (and for the
    /// jitter buffer's tail after the server says it stopped); otherwise it is the track's silence.
    private var answerAudible = false
    private var audibleUntil: ContinuousClock.Instant?
    /// WebRTC: response.done came while its audio still plays; announced when it stops.
    private var doneAwaitsAudio = false
    var supervisor: LinkSupervisor
    var backoff: Task<Void, Never>?
    /// Why the device is ending the current connection (stall, renewal, operator, expiry);
    /// nil while the server or the network is the one to end it.
    private var ending: LinkEnd?
    private var sessionReady = false
    private var sessionStarted: ContinuousClock.Instant?
    /// When the assistant's latest audio will have finished playing (estimated from what was sent).
    private var audioPlaysUntil = ContinuousClock.now
    /// A planned renewal is under way: the conversation does not see the link drop, and
    /// what it sends meanwhile is held and sent to the new session.
    private var refreshing = false
    /// Hands-free: the server heard speech start and not yet stop.
    private var speechActive = false
    private var held: [BackendCommand] = []
    private var heldSamples = 0
    /// When the socket opened, and when the server last said anything (or we last asked it
    /// for an answer): what the stall check measures.
    private var openedAt: ContinuousClock.Instant?
    private var lastProgress = ContinuousClock.now
    /// Malformed server events on this connection: the first is logged, all are counted.
    private var malformedEvents = 0

    public init(settings: Settings, link: any RealtimeLink, logger: Logger) {
        self.settings = settings
        self.link = link
        name = settings.name
        turn = RealtimeTurn(audioAsMedia: link.audioAsMedia)
        self.logger = logger
        chunkSamples = settings.appendChunkMilliseconds * 24
        supervisor = LinkSupervisor(name: settings.name, policy: RetryPolicy(
            initialMilliseconds: settings.reconnectInitialMilliseconds, maximumMilliseconds: settings.reconnectMaxMilliseconds))
        (events, continuation) = AsyncStream.makeStream(of: BackendEvent.self)
    }

    public func run() async throws {
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await self?.renewIfDue()
                await self?.closeIfStalled()
            }
        }
        defer { ticker.cancel() }
        await superviseLink()
    }

    func report(_ event: BackendEvent) { continuation.yield(event) }

    /// One connection: how it ended, in the device's words when the device ended it.
    func connectOnce() async -> LinkEnd {
        ending = nil
        defer { disconnected() }
        let end: LinkEnd
        do {
            switch try await link.run(
                onOpen: { sender in await self.opened(sender) },
                onText: { text in await self.received(text) },
                onAudio: { samples in await self.receivedAudio(samples) }) {
            case .failed(let why): end = .failed(BackendError(.connection, why))
            case .normal(let how): end = .peerClosed(how)
            }
        } catch let error as RealtimeLinkError {
            end = .failed(BackendError(error.isAuth ? .auth : .connection, error.description))
        } catch {
            end = .failed(BackendError(.connection, "\(error)"))
        }
        if refreshing && ending != .renewal {
            // The renewal failed: from here on it is an ordinary outage the technician sees.
            refreshing = false
            held.removeAll()
            heldSamples = 0
        }
        return ending ?? end
    }

    /// The device ends the connection itself, for `why`.
    private func hangUp(_ why: LinkEnd) async {
        guard ending == nil else { return }
        ending = why
        await sender?.close()
    }

    private func opened(_ sender: any RealtimeLinkSender) async {
        self.sender = sender
        writer = OrderedWriter(sender, name: name, logger: logger)
        overflowLogged = false
        openedAt = .now
        if ending != nil { return await sender.close() }  // ended while it was being dialled
        guard !refreshing else { return }
        continuation.yield(.session(.creating))
    }

    private func disconnected() {
        sender = nil
        writer?.finish()
        writer = nil
        openedAt = nil
        malformedEvents = 0
        sessionReady = false
        sessionStarted = nil
        speechActive = false
        turn = RealtimeTurn(audioAsMedia: link.audioAsMedia)
        answerAudible = false
        audibleUntil = nil
        doneAwaitsAudio = false
    }

    /// Renews an old session between turns (OpenAI ends sessions at 60 minutes), once the
    /// last answer has finished playing, so nobody is cut off.
    private func renewIfDue() async {
        guard sessionReady, !refreshing, let started = sessionStarted,
              ContinuousClock.now - started >= .seconds(settings.sessionRefreshSeconds),
              turn.isIdle(handsFree: settings.session.turnDetection != .none), !speechActive,
              ContinuousClock.now >= audioPlaysUntil + .seconds(1) else { return }
        logger.notice("\(name): renewing the session after \(settings.sessionRefreshSeconds) s, between turns")
        refreshing = true
        await hangUp(.renewal)
    }

    /// A server can keep the TCP connection (and its pongs) alive and still stop talking:
    /// no session after the upgrade, or an answer that stops midway. Either is given up on so
    /// the technician is told and the next turn gets a fresh connection.
    private func closeIfStalled() async {
        guard let opened = openedAt, ending == nil else { return }
        let limit = Duration.milliseconds(settings.stallTimeoutMilliseconds)
        let now = ContinuousClock.now
        if !sessionReady && now - opened > limit {  // a renewal that stalls is an outage too
            await hangUp(.stalled("no session within \(settings.stallTimeoutMilliseconds) ms of connecting"))
        } else if sessionReady && turn.awaitsServer && now - lastProgress > limit {
            await hangUp(.stalled("the answer stalled: nothing from the server for \(settings.stallTimeoutMilliseconds) ms"))
        }
    }

    public func reconnect() async {
        if cutBackoff() { return }
        await hangUp(.operatorReconnect)
    }

    /// Ends the connection for `why` and dials again (a relay that failed the call's media).
    public func redial(_ why: LinkEnd) async {
        await hangUp(why)
    }

    // MARK: commands from the conversation

    public func send(_ command: BackendCommand) async {
        if refreshing && !sessionReady {
            hold(command)
            return
        }
        if case .handsFree(let kind) = command {
            // Applies to this session now and to every session after a reconnect.
            settings.session.turnDetection = RealtimeSessionConfig.TurnDetection(handsFree: kind)
            if sessionReady { await transmit(.sessionUpdate(settings.session)) }
            return
        }
        guard sessionReady else { return }
        if case .cancelResponse = command { answerAudible = false; audibleUntil = nil }
        let outgoing = turn.handle(command, chunkSamples: chunkSamples)
        for event in outgoing { await transmit(event) }
        if link.audioAsMedia, case .append(let samples) = command { await sender?.sendAudio(samples) }
    }

    /// Keeps a command for the renewed session (a turn that starts during the renewal);
    /// bounded to a minute of audio.
    private func hold(_ command: BackendCommand) {
        if case .append(let samples) = command {
            guard heldSamples < 60 * 24000 else { return }
            heldSamples += samples.count
        }
        held.append(command)
    }

    private func transmit(_ event: RealtimeClientEvent) async {
        guard let writer else { return }
        if case .createResponse = event { lastProgress = .now }  // the wait for an answer starts here
        if !writer.enqueue(event.text(), type: event.type) && !overflowLogged {
            overflowLogged = true
            logger.warning("\(name): the uplink is not keeping up: \(OrderedWriter.capacity) events queued; dropping \(event.type) and what follows until it drains")
        }
    }

    // MARK: events from the server

    private func received(_ text: String) async {
        lastProgress = .now
        let event: RealtimeServerEvent
        do {
            event = try RealtimeServerEvent.parse(text)
        } catch {
            malformedEvents += 1
            if malformedEvents == 1 {
                logger.warning("\(name): ignoring a malformed server event (more on this connection are counted, not logged): \(error)")
            } else {
                logger.debug("\(name): malformed server event \(malformedEvents): \(error)")
            }
            continuation.yield(.error(BackendError(.protocol, "\(name): malformed server event", logged: true)))
            return
        }
        switch event {
        case .sessionCreated:
            await transmit(.sessionUpdate(settings.session))
        case .sessionUpdated:
            guard !sessionReady else { return }
            sessionReady = true
            sessionStarted = .now
            linkReady()
            if refreshing {
                refreshing = false
                let commands = held
                held.removeAll()
                heldSamples = 0
                logger.info("\(name): session renewed")
                for command in commands { await send(command) }
            } else {
                continuation.yield(.session(.created))
            }
        case .error(let error):
            await serverError(error)
        case .responseCreated(let id):
            let (current, next) = turn.responseCreated(id)
            if current { continuation.yield(.responseStarted) }
            for event in next { await transmit(event) }
        case .audioDelta(let response, let item, let samples):
            if turn.audioDelta(response: response, item: item, samples: samples.count) {
                let now = ContinuousClock.now
                audioPlaysUntil = max(audioPlaysUntil, now) + .milliseconds(samples.count / 24)
                continuation.yield(.audio(samples))
            }
        case .audioTranscriptDone(_, let transcript):
            continuation.yield(.transcript(role: .assistant, text: transcript))
        case .inputTranscriptDone(_, let transcript):
            continuation.yield(.transcript(role: .user, text: transcript))
        case .responseDone(let id, let status):
            let (current, next) = turn.responseDone(id)
            if current && answerAudible { doneAwaitsAudio = true }  // its audio is still arriving
            else if current { continuation.yield(.responseDone) }
            if status == "failed" { logger.warning("\(name): response \(id) failed") }
            for event in next { await transmit(event) }
        case .functionCall(let response, let call, let name, let arguments):
            if turn.functionCall(response: response, callID: call) {
                continuation.yield(.toolCall(ToolCall(callID: call, name: name, arguments: arguments)))
            }
        case .speechStarted:
            speechActive = true
            continuation.yield(.speechStarted)
        case .speechStopped:
            speechActive = false
            continuation.yield(.speechStopped)
        case .committed:
            break
        case .outputAudioStarted(let response):
            answerAudible = turn.outputAudioStarted(response)
            audibleUntil = nil
        case .outputAudioStopped(let response):
            guard turn.outputAudioStopped(response) else { return }
            await answerAudioStopped()
        case .outputAudioCleared:
            answerAudible = false
        case .inputTranscriptFailed(_, let message):
            logger.warning("\(name): the technician's speech was not transcribed: \(message)")
        case .other(let type):
            logger.trace("\(name): \(type)")
        }
    }

    // MARK: WebRTC media

    /// Remote track audio: the answer's while it is audible, else the track's silence (dropped).
    private func receivedAudio(_ samples: [Int16]) {
        if let until = audibleUntil, ContinuousClock.now > until { audibleUntil = nil }
        guard answerAudible || audibleUntil != nil else { return }
        lastProgress = .now
        audioPlaysUntil = max(audioPlaysUntil, .now) + .milliseconds(samples.count / 24)
        continuation.yield(.audio(samples))
    }

    /// The server stopped playing the answer; its last packets are still in our jitter buffer,
    /// so the answer stays audible (and its end unannounced) a little longer.
    private func answerAudioStopped() async {
        answerAudible = false
        let tail = ContinuousClock.now + Self.mediaTail
        audibleUntil = tail
        guard doneAwaitsAudio else { return }
        doneAwaitsAudio = false
        try? await Task.sleep(until: tail)
        continuation.yield(.responseDone)
    }

    /// Longer than the receive jitter buffer (50 ms) plus a packet or two.
    static let mediaTail = Duration.milliseconds(150)

    private func serverError(_ error: RealtimeError) async {
        switch error.code {
        case "session_expired":
            logger.notice("\(name): session expired; reconnecting")
            await hangUp(.renewal)
        case "response_cancel_not_active":
            logger.debug("\(name): \(error)")  // the response ended as we cancelled: benign
        default:
            // One log line: the controller logs every backend error it is handed.
            let kind: BackendError.Kind = error.isAuthFailure ? .auth
                : error.code == "rate_limit_exceeded" ? .rateLimit : .server
            let problem = BackendError(kind, "\(name): server error \(error)")
            if error.isAuthFailure || error.endsSession {
                continuation.yield(.session(.error))
                await hangUp(.failed(BackendError(kind, "server error \(error)")))
            } else if turn.requestFailed() {
                // The answer asked for will not come (rate limit, a refused request): the
                // turn ends now, the link stays.
                continuation.yield(.responseFailed(problem))
            } else {
                continuation.yield(.error(problem))
            }
        }
    }
}
