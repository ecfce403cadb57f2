import FoundationEssentials
import Logging
import ParleyHTTP
import ParleyRealtime

/// The rt session relay (seed 001): a session started with `POST /api/rt/start`, checked
/// with `GET /api/rt/status`, microphone audio uploaded with `audio-append` (base64 PCM16
/// 24 kHz) and `audio-commit`, typed turns with `text`, and three SSE streams for the
/// assistant's audio and text and the user's transcripts. All HTTP goes through libcurl.
///
/// The relay has no cancel or clear route: a barge-in silences the speaker and drops the
/// rest of the interrupted answer here; a turn dropped as too short is dropped only if it
/// was not uploaded yet (uploads go in `append_chunk_ms` chunks). Its streams do not say
/// when an answer is over except by text: the answer ends when its text is done and the
/// audio has paused, or when no audio came for `response_idle_ms`.
public actor RTRelayBackend: VoiceBackend, SupervisedLink {
    public struct Settings: Sendable {
        public var baseURL: String
        public var provider: String
        public var model: String
        public var apiKey: String?
        public var appendChunkMilliseconds: Int
        public var responseIdleMilliseconds: Int
        public var reconnectInitialMilliseconds: Int
        public var reconnectMaxMilliseconds: Int

        public init(baseURL: String, provider: String, model: String, apiKey: String?, appendChunkMilliseconds: Int,
                    responseIdleMilliseconds: Int, reconnectInitialMilliseconds: Int, reconnectMaxMilliseconds: Int) {
            self.baseURL = baseURL.trimmingSuffix("/")
            self.provider = provider
            self.model = model
            self.apiKey = apiKey
            self.appendChunkMilliseconds = appendChunkMilliseconds
            self.responseIdleMilliseconds = responseIdleMilliseconds
            self.reconnectInitialMilliseconds = reconnectInitialMilliseconds
            self.reconnectMaxMilliseconds = reconnectMaxMilliseconds
        }
    }

    public nonisolated let name = "rt_relay"
    public nonisolated let events: AsyncStream<BackendEvent>
    let continuation: AsyncStream<BackendEvent>.Continuation
    let settings: Settings
    let http: HTTPClient
    let logger: Logger

    /// The live session; nil between sessions (commands are then dropped: the conversation
    /// does not start turns while the link is down).
    var sessionID: String?
    /// Ordered uploads of the live session.
    var outbox: AsyncStream<Upload>.Continuation?
    /// Ends the live session early: reconnect, or the relay said it is not active (503).
    var endSession: AsyncStream<LinkEnd>.Continuation?
    var pending: [Int16] = []
    var answer: AnswerTracker
    var supervisor: LinkSupervisor
    var backoff: Task<Void, Never>?
    var warnedHandsFree = false

    /// One POST of the session, in order.
    struct Upload: Sendable {
        var route: String
        var body: [String: String]
    }

    public init(settings: Settings, http: HTTPClient = HTTPClient(), logger: Logger) {
        self.settings = settings
        self.http = http
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: BackendEvent.self)
        answer = AnswerTracker(idle: .milliseconds(settings.responseIdleMilliseconds))
        supervisor = LinkSupervisor(name: "rt_relay", policy: RetryPolicy(
            initialMilliseconds: settings.reconnectInitialMilliseconds, maximumMilliseconds: settings.reconnectMaxMilliseconds))
    }

    var chunkSamples: Int { settings.appendChunkMilliseconds * 24 }

    // MARK: commands

    public func send(_ command: BackendCommand) async {
        guard sessionID != nil else { return }
        switch command {
        case .append(let samples):
            pending += samples
            while pending.count >= chunkSamples {
                upload("audio-append", ["audio": PCM16.base64(pending.prefix(chunkSamples))])
                pending.removeFirst(chunkSamples)
            }
        case .commit:
            if !pending.isEmpty { upload("audio-append", ["audio": PCM16.base64(pending[...])]) }
            pending.removeAll()
            upload("audio-commit", [:])
            answer.begin(at: .now)
        case .clear:
            pending.removeAll()  // what was uploaded stays: the relay has no route to clear it
        case .text(let text):
            upload("text", ["text": text])
            answer.begin(at: .now)
        case .cancelResponse:
            // The conversation ended the turn itself; a responseDone here would end the
            // turn that interrupted it (a typed barge-in).
            _ = answer.interrupt(at: .now)
        case .toolOutput(let callID, _, _):
            logger.debug("rt_relay: function output \(callID) has no route on this relay; dropped")
        case .handsFree(let kind):
            if kind != nil && !warnedHandsFree {
                warnedHandsFree = true
                logger.warning("rt_relay: the relay has no hands-free turn detection; use ptt.mode hold or toggle")
            }
        }
    }

    public func reconnect() async {
        if cutBackoff() { return }
        endSession?.yield(.operatorReconnect)
    }

    private func upload(_ route: String, _ fields: [String: String]) {
        guard let sessionID else { return }
        outbox?.yield(Upload(route: route, body: fields.merging(["sessionId": sessionID]) { $1 }))
    }

    // MARK: sessions

    public func run() async throws {
        await superviseLink()
    }

    func report(_ event: BackendEvent) { continuation.yield(event) }

    /// One session: started, run until it ends, handed back. Its end in the device's words.
    func connectOnce() async -> LinkEnd {
        let id = "session_\(Int(Date().timeIntervalSince1970 * 1000))"
        do {
            try await start(id)
        } catch {
            return .failed(BackendError(error.kind, error.message))
        }
        continuation.yield(.session(.creating))
        let end = await runSession(id)
        await stop(id)
        if !Task.isCancelled { continuation.yield(.session(.terminated)) }
        return end
    }

    /// `POST /api/rt/start`, then `GET /api/rt/status` until the session is active.
    private func start(_ id: String) async throws(RelayFailure) {
        var body = ["sessionId": id, "provider": settings.provider, "model": settings.model]
        if let key = settings.apiKey { body["apiKey"] = key }
        _ = try await post("start", body, timeoutMilliseconds: 20_000)
        for _ in 0..<40 {
            let response = try await request(HTTPRequest(url: url("status") + "?sessionId=\(id)", timeoutMilliseconds: 5000))
            let status = JSONValue.parse(response.text)
            if status?["status"]?.string == "active" || status?["isActive"] == .bool(true) { return }
            guard status?["isStarting"] == .bool(true) else {
                throw RelayFailure(.server, "session \(id) is not active after start: \(response.text.prefix(200))")
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        throw RelayFailure(.server, "session \(id) still starting after 10 s")
    }

    /// Best effort, also while the daemon stops: a relay keeps sessions until told.
    private func stop(_ id: String) async {
        let request = HTTPRequest(method: "POST", url: url("stop"), headers: [("Content-Type", "application/json")],
                                  body: Self.json(["sessionId": id]), timeoutMilliseconds: 1000)
        let http = http
        _ = await Task.detached { try? await http.perform(request) }.value
    }

    func url(_ route: String) -> String { "\(settings.baseURL)/api/rt/\(route)" }

    static func json(_ fields: [String: String]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(fields)) ?? Data())
    }

    func post(_ route: String, _ fields: [String: String], timeoutMilliseconds: Int = 10_000) async throws(RelayFailure)
        -> HTTPResponse
    {
        try await request(HTTPRequest(method: "POST", url: url(route), headers: [("Content-Type", "application/json")],
                                      body: Self.json(fields), timeoutMilliseconds: timeoutMilliseconds))
    }

    /// A 2xx response; anything else is a failure with the relay's `{error, sessionId}` in words.
    func request(_ request: HTTPRequest) async throws(RelayFailure) -> HTTPResponse {
        let response: HTTPResponse
        do { response = try await http.perform(request) } catch {
            throw RelayFailure(.connection, "\(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw RelayFailure(status: response.status, method: request.method, url: request.url, body: response.text)
        }
        return response
    }
}
