import Logging
import ParleyHTTP
import ParleySpeech
import ParleyWebSocket

/// Agent C (seed 004): a text agent over one WebSocket with a JWT. Typed turns go in as
/// `text_input`; spoken turns are transcribed first (OpenAI transcription session) when a key
/// is configured. The answer's `text_delta`s are spoken on the device with espeak-ng,
/// sentence by sentence as they arrive, through the normal playback path (echo reference,
/// barge-in). No screen: avatars are skipped.
public actor AgentCBackend: VoiceBackend, SupervisedLink {
    public struct Settings: Sendable {
        public var url: String
        public var token: String
        /// Agent to select; empty: the server's first.
        public var agent: String
        public var reconnectMaxMilliseconds: Int
        /// The seed's client: 5 tries from 1 s, doubling; after that every `reconnectMaxMilliseconds`.
        public var seedRetries = 5
        public var retryInitialMilliseconds = 1000
        public var listTimeout: Duration = .seconds(10)
        public var agentTimeout: Duration = .seconds(5)
        /// An interaction that sends nothing for this long is given up.
        public var answerTimeout: Duration = .seconds(60)

        public init(url: String, token: String, agent: String, reconnectMaxMilliseconds: Int) {
            self.url = url
            self.token = token
            self.agent = agent
            self.reconnectMaxMilliseconds = reconnectMaxMilliseconds
        }
    }

    public nonisolated let name = "agent_c"
    public nonisolated let events: AsyncStream<BackendEvent>
    private let continuation: AsyncStream<BackendEvent>.Continuation
    private let settings: Settings
    private let connector: any WebSocketConnector
    private let probe: HTTPClient?
    private let speech: AnswerVoice
    private let transcriber: SpeechTranscriber?
    let logger: Logger

    private var sender: (any WebSocketSender)?
    private var setup = AgentCSetup()
    /// Why the device is ending the current connection (an operator reconnect); nil otherwise.
    private var ending: LinkEnd?
    var supervisor: LinkSupervisor
    var backoff: Task<Void, Never>?
    /// The server is in an interaction (ours or not); a new text_input waits for its end.
    private var interactionActive = false
    /// Text of the turn waiting to go in.
    private var queuedText: String?
    /// Our turn went in (or waits to) and its answer has not ended.
    private var answering = false
    /// Our text_input went out and its interaction has not started yet.
    private var sent = false
    /// The interaction in progress answers our turn (not one we left by barge-in).
    private var ours = false
    private var answer = AnswerSpeech()
    /// Bumped for each turn: the end of an older answer's speech is not this one's.
    private var answerID = 0
    private var lastActivity = ContinuousClock.now
    private var warnedHandsFree = false
    /// Which connection a setup timer belongs to.
    private var connection = 0

    public init(settings: Settings, connector: any WebSocketConnector, probe: HTTPClient?, voice: SpeechSynthesizer,
                transcription: TranscriptionEndpoint?, logger: Logger) {
        self.settings = settings
        self.connector = connector
        self.probe = probe
        self.logger = logger
        transcriber = SpeechTranscriber(transcription, for: "agent_c", connector: connector, logger: logger)
        let (events, continuation) = AsyncStream.makeStream(of: BackendEvent.self)
        (self.events, self.continuation) = (events, continuation)
        speech = AnswerVoice(voice: voice) { continuation.yield(.audio($0)) }
        supervisor = LinkSupervisor(name: "agent_c", policy: RetryPolicy(
            initialMilliseconds: settings.retryInitialMilliseconds, maximumMilliseconds: settings.reconnectMaxMilliseconds,
            doublingTries: settings.seedRetries, jitter: 0.1))
    }

    public func run() async throws {
        if transcriber == nil {
            logger.notice("agent_c: no transcription key (backend.agent_c.transcription_key_file): typed turns only (parleyctl say)")
        }
        let transcription = Task { await transcriber?.run() }
        let watchdog = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.checkSilence()
            }
        }
        defer {
            transcription.cancel()
            watchdog.cancel()
        }
        await superviseLink()
    }

    func report(_ event: BackendEvent) { continuation.yield(event) }

    /// One connection: the socket, the agent list, the agent set. Its end in the device's words.
    func connectOnce() async -> LinkEnd {
        ending = nil
        defer { disconnected() }
        let url = settings.url.trimmingSuffix("/") + "/api/avatar/ws?token=" + settings.token
        let end: LinkEnd
        do {
            let close = try await connector.run(
                url: url, headers: [],
                onOpen: { sender in await self.opened(sender) },
                onText: { text in await self.received(text) })
            if let failure = setup.failure {
                end = .failed(BackendError(.server, failure))
            } else if !setup.ready {
                end = .failed(BackendError(.connection, "socket \(close) before the agent was set"))
            } else {
                end = .peerClosed("socket \(close)")
            }
        } catch let error as WebSocketConnectError where error.kind == .upgradeRefused {
            let refusal = await UpgradeRefusal.probe(url, headers: [], with: probe)
            let why = "\(error)" + (refusal.map { ": HTTP \($0.status)" + ($0.isAuth ? " (check the JWT in backend.agent_c.token_file; it may have expired)" : "") } ?? "")
            end = .failed(BackendError(refusal?.isAuth == true ? .auth : .connection, redacted(why)))
        } catch {
            end = .failed(BackendError(.connection, redacted("\(error)")))
        }
        return ending ?? end
    }

    /// The JWT rides the URL: it never reaches a log line.
    private func redacted(_ text: String) -> String { text.replacing(settings.token, with: "<token>") }

    public func reconnect() async {
        if cutBackoff() { return }
        ending = .operatorReconnect
        await sender?.close()
    }

    // MARK: the socket

    private func opened(_ sender: any WebSocketSender) {
        self.sender = sender
        setup = AgentCSetup()
        connection += 1
        continuation.yield(.session(.creating))
        setupDeadline(settings.listTimeout, unless: .configuring, "no agent_list and avatar_list")
    }

    private func disconnected() {
        sender = nil
        if answering { finishAnswer() }
        interactionActive = false
        sent = false
        ours = false
        queuedText = nil
        setup = AgentCSetup()
    }

    /// Closes the connection when setup has not reached `reached` in time.
    private func setupDeadline(_ deadline: Duration, unless reached: AgentCSetup.Phase, _ what: String) {
        let connection = self.connection
        Task { [weak self] in
            try? await Task.sleep(for: deadline)
            await self?.abandonSetup(connection, unless: reached, "\(what) within \(deadline)")
        }
    }

    private func abandonSetup(_ connection: Int, unless reached: AgentCSetup.Phase, _ reason: String) async {
        guard connection == self.connection, sender != nil, setup.phase < reached else { return }
        setup.failure = reason
        await sender?.close()
    }

    private func received(_ text: String) async {
        let event: AgentCEvent
        do { event = try AgentCEvent.parse(text) } catch {
            logger.warning("agent_c: \(error); skipped")
            continuation.yield(.error(BackendError(.protocol, "agent_c: \(error)", logged: true)))
            return
        }
        lastActivity = .now
        switch setup.receive(event, wanted: settings.agent) {
        case .send(let key):
            logger.info("agent_c: agents \(setup.agents.joined(separator: ", ")); selecting \(key)")
            await transmit(AgentCEvent.setAgent(key))
            setupDeadline(settings.agentTimeout, unless: .ready, "no agent_configuration_changed for set_agent")
            return
        case .ready:
            logger.info("agent_c: agent \(setup.agent ?? "?") ready")
            linkReady()
            continuation.yield(.session(.created))
            return
        case .failed(let reason):
            logger.error("agent_c: \(reason)")
            await sender?.close()
            return
        case .pass:
            break
        }
        switch event {
        case .interaction(let started, _):
            interactionActive = started
            if started {
                ours = sent
                sent = false
                if ours { continuation.yield(.responseStarted) }
            } else {
                if ours && answering { await endOfText() }
                ours = false
                if let text = queuedText {
                    queuedText = nil
                    await submit(text)
                }
            }
        case .textDelta(let role, let content):
            guard ours, answering, role == "assistant" else { return }
            for sentence in answer.append(content) { await speech.say(sentence) }
        case .error(let message):
            continuation.yield(.error(BackendError(.server, "agent_c: \(message)")))
            if answering && !interactionActive && queuedText == nil {
                sent = false
                finishAnswer()
            }
        case .thoughtDelta, .completion, .historyDelta, .avatarList, .agentList, .agentConfigured, .other:
            break
        }
    }

    private func transmit(_ text: String) async {
        do { try await sender?.send(text) } catch {
            logger.debug("agent_c: send failed: \(error)")
        }
    }

    // MARK: commands from the conversation

    public func send(_ command: BackendCommand) async {
        switch command {
        case .append(let samples):
            await transcriber?.append(samples)
        case .clear:
            await transcriber?.clear()
        case .commit:
            if let text = await SpeechTranscriber.spokenTurn(transcriber, for: name, report: { continuation.yield($0) }) {
                await submit(text)
            }
        case .text(let text):
            continuation.yield(.transcript(role: .user, text: text))
            await submit(text)
        case .cancelResponse:
            // Agent C has no cancel: stop speaking here and ignore the rest of this answer.
            await speech.silence()
            ours = false
            sent = false  // an interaction that starts later answers a turn the technician dropped
            if answering { finishAnswer(report: false) }
        case .toolOutput:
            break
        case .handsFree(let kind):
            if kind != nil && !warnedHandsFree {
                warnedHandsFree = true
                logger.warning("agent_c: hands-free mode needs server turn detection, which Agent C does not have; use hold or toggle")
            }
        }
    }

    /// One text_input at a time: a turn during someone else's interaction waits for its end.
    private func submit(_ text: String) async {
        answering = true
        answer = AnswerSpeech()
        answerID += 1
        lastActivity = .now
        if interactionActive {
            queuedText = text
            return
        }
        sent = true
        await transmit(AgentCEvent.textInput(text))
    }

    // MARK: speaking the answer

    /// The interaction ended: speak what is left, then the answer is done.
    private func endOfText() async {
        if let rest = answer.finish() { await speech.say(rest) }
        let id = answerID
        Task {
            if await speech.finished() { self.answerSpoken(id) }
        }
    }

    private func answerSpoken(_ id: Int) {
        guard id == answerID, answering else { return }
        finishAnswer()
    }

    private func finishAnswer(report: Bool = true) {
        answering = false
        if report, !answer.text.isEmpty { continuation.yield(.transcript(role: .assistant, text: answer.text)) }
        if report { continuation.yield(.responseDone) }
        answer = AnswerSpeech()
    }

    private func checkSilence() async {
        guard answering, ContinuousClock.now - lastActivity > settings.answerTimeout else { return }
        guard await !speech.isPlaying, answering else { return }  // re-checked after the await
        logger.warning("agent_c: no answer for \(settings.answerTimeout); giving up on this turn")
        continuation.yield(.error(BackendError(.server, "agent_c: no answer within \(settings.answerTimeout)", logged: true)))
        finishAnswer()
    }
}

/// The answer's text so far and the sentences it completed.
struct AnswerSpeech {
    private(set) var text = ""
    private var splitter = SentenceSplitter()

    mutating func append(_ delta: String) -> [String] {
        text += delta
        return splitter.append(delta)
    }

    mutating func finish() -> String? { splitter.finish() }
}
