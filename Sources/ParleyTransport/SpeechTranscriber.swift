import Logging
import ParleyRealtime
import ParleyWebSocket

/// Where spoken turns of a text backend are transcribed (an OpenAI key and its endpoint).
public typealias TranscriptionEndpoint = (url: String, apiKey: String, model: String, language: String)

/// The technician's speech → text, for backends that take text (Agent C, agent routes): an OpenAI
/// transcription session (`?intent=transcription`, `session.type = transcription`, no turn
/// detection) kept open beside the backend. A turn's audio streams while it is spoken (held
/// while the session is reconnecting); the commit returns its transcript.
actor SpeechTranscriber: SupervisedLink {
    struct Settings: Sendable {
        var url: String
        var apiKey: String
        var model: String
        var language: String
        /// The backend it serves, for log lines.
        var label: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let settings: Settings
    private let connector: any WebSocketConnector
    let logger: Logger
    var supervisor: LinkSupervisor
    var backoff: Task<Void, Never>?
    private var sender: (any WebSocketSender)?
    private var ready = false
    /// Audio of the turn not sent yet (the session is not ready).
    private var held: [Int16] = []
    /// A turn's audio is arriving (appends since the last commit or clear).
    private var turnOpen = false
    private var waiting: CheckedContinuation<String, any Error>?
    private var lastFailure: String?

    init(settings: Settings, connector: any WebSocketConnector, logger: Logger) {
        self.settings = settings
        self.connector = connector
        self.logger = logger
        supervisor = LinkSupervisor(name: "\(settings.label): transcription session",
                                    policy: RetryPolicy(initialMilliseconds: 1000, maximumMilliseconds: 30000))
    }

    /// None without an endpoint: the backend then takes typed turns only.
    init?(_ endpoint: TranscriptionEndpoint?, for backend: String, connector: any WebSocketConnector, logger: Logger) {
        guard let endpoint else { return nil }
        self.init(settings: .init(url: endpoint.url, apiKey: endpoint.apiKey, model: endpoint.model,
                                  language: endpoint.language, label: backend),
                  connector: connector, logger: logger)
    }

    /// A text backend's spoken turn at its commit: the transcript, reported as the user's
    /// words; or nil when there is nothing to answer — no transcriber (no key), no words, or
    /// a failure — reported, with the turn closed by `responseDone`. `stillWanted` says
    /// whether the turn still stands after the wait (a barge-in may have dropped it).
    static func spokenTurn(_ transcriber: SpeechTranscriber?, for backend: String,
                           report: (BackendEvent) -> Void, stillWanted: () -> Bool = { true },
                           isolation: isolated (any Actor)? = #isolation) async -> String? {
        guard let transcriber else {
            report(.error(BackendError(.server, "\(backend): a spoken turn needs a transcription key (backend.\(backend).transcription_key_file); use parleyctl say for typed turns")))
            report(.responseDone)
            return nil
        }
        do {
            let text = try await transcriber.commit()
            guard stillWanted() else { return nil }
            report(.transcript(role: .user, text: text))
            if !text.isEmpty { return text }
        } catch {
            guard stillWanted() else { return nil }
            report(.error(BackendError(.connection, "\(backend): \(error)")))
        }
        report(.responseDone)
        return nil
    }

    /// Keeps the session open until cancelled, reconnecting with backoff (LinkSupervisor).
    func run() async {
        await superviseLink()
    }

    /// The backend's own link is what the technician sees: the transcriber's is only logged.
    func report(_ event: BackendEvent) {}

    func connectOnce() async -> LinkEnd {
        let url = settings.url + (settings.url.contains("?") ? "&" : "?") + "intent=transcription"
        var failure: String
        do {
            let close = try await connector.run(
                url: url, headers: [("Authorization", "Bearer \(settings.apiKey)")],
                onOpen: { sender in await self.opened(sender) },
                onText: { text in await self.received(text) })
            failure = "socket \(close)"
        } catch {
            failure = "\(error)"
        }
        sender = nil
        ready = false
        let why = "transcription session: \(failure)"
        lastFailure = why
        fail(why)
        return .failed(BackendError(.connection, "\(failure); spoken turns wait for it"))
    }

    private func opened(_ sender: any WebSocketSender) async {
        self.sender = sender
        await transmit(.transcriptionSessionUpdate(model: settings.model, language: settings.language))
    }

    private func received(_ text: String) async {
        let event: RealtimeServerEvent
        do { event = try RealtimeServerEvent.parse(text) } catch {
            logger.warning("\(settings.label): transcription session sent \(error); skipped")
            return
        }
        switch event {
        case .sessionUpdated:
            ready = true
            lastFailure = nil
            linkReady()
            if !held.isEmpty {
                await sendAudio(held)
                held.removeAll()
            }
        case .inputTranscriptDone(_, let transcript):
            waiting?.resume(returning: transcript)
            waiting = nil
        case .inputTranscriptFailed(_, let message):
            fail("transcription failed: \(message)")
        case .error(let error):
            fail("transcription session error: \(error.message)")
        default:
            break
        }
    }

    /// Audio of the turn; the first append of a turn drops anything left of the last one.
    func append(_ samples: [Int16]) async {
        if !turnOpen {
            turnOpen = true
            await startTurn()
        }
        if ready { await sendAudio(samples) } else { held += samples }
    }

    /// The turn is dropped (too short, cancelled).
    func clear() async {
        turnOpen = false
        await startTurn()
    }

    private func startTurn() async {
        held.removeAll()
        if ready { await transmit(.clearAudio) }
    }

    /// The turn's transcript; throws when the session is down or the server gives none in time.
    func commit(timeout: Duration = .seconds(15)) async throws -> String {
        turnOpen = false
        let deadline = ContinuousClock.now + timeout
        while !ready {
            guard ContinuousClock.now < deadline else { throw Failure(description: lastFailure ?? "transcription session not ready") }
            try await Task.sleep(for: .milliseconds(50))
        }
        if !held.isEmpty {
            await sendAudio(held)
            held.removeAll()
        }
        let timer = Task { [weak self] in
            try await Task.sleep(until: deadline)
            await self?.fail("no transcript within \(timeout)")
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            waiting = continuation
            Task { await transmit(.commitAudio) }
        }
    }

    private func fail(_ reason: String) {
        waiting?.resume(throwing: Failure(description: reason))
        waiting = nil
    }

    private func sendAudio(_ samples: [Int16]) async {
        var start = 0
        while start < samples.count {  // 100 ms per append
            let end = min(samples.count, start + 2400)
            await transmit(.appendAudio(samples[start..<end]))
            start = end
        }
    }

    private func transmit(_ event: RealtimeClientEvent) async {
        do { try await sender?.send(event.text()) } catch {
            logger.debug("\(settings.label): transcription send failed: \(error)")
        }
    }
}
