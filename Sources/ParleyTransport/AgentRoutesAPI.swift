import FoundationEssentials
import ParleyHTTP
import ParleyRealtime

/// The agent routes relay's REST routes (seed 000), every request identified by the
/// `user-id` header (and the `userId` query where the seed shows it). Failed calls are tried
/// 3 times with exponential backoff when trying again can help (no answer, 5xx, 429); the
/// relay's `{error, message, details}` is kept in the failure's words.
struct AgentRoutesAPI: Sendable {
    struct Session: Sendable, Equatable {
        var id: String
        var model: String
        var expiresAt: Date?
    }

    let baseURL: String
    let userID: String
    let http: HTTPClient
    var tries = 3
    var firstRetryDelay: Duration = .milliseconds(500)

    init(baseURL: String, userID: String, http: HTTPClient) {
        self.baseURL = baseURL.trimmingSuffix("/")
        self.userID = userID
        self.http = http
    }

    /// `GET /api/agent/health` → the relay's count of active sessions.
    func health() async throws(RelayFailure) -> Int? {
        let reply = try await call("GET", "/api/agent/health", timeoutMilliseconds: 5000)
        guard reply["status"]?.string == "ok" else {
            throw RelayFailure(.server, "GET /api/agent/health: status \(reply["status"]?.text() ?? "missing")")
        }
        return reply["activeSessions"]?.int
    }

    /// `POST /api/agent/v1/realtime/sessions {model}`.
    func createSession(model: String) async throws(RelayFailure) -> Session {
        let reply = try await call("POST", "/api/agent/v1/realtime/sessions", body: ["model": .string(model)],
                                   timeoutMilliseconds: 20_000)
        guard let id = reply["id"]?.string, !id.isEmpty else {
            throw RelayFailure(.protocol, "POST /api/agent/v1/realtime/sessions: no session id in \(reply.text().prefix(200))")
        }
        return Session(id: id, model: reply["model"]?.string ?? model,
                       expiresAt: reply["expires_at"]?.string.flatMap(Self.date))
    }

    /// `GET /api/agent/sessions?userId=` → the ids of this user's active sessions.
    func sessions() async throws(RelayFailure) -> [String] {
        let reply = try await call("GET", "/api/agent/sessions?userId=\(userID.urlComponentEncoded)", timeoutMilliseconds: 5000)
        guard case .array(let sessions)? = reply["sessions"] else {
            throw RelayFailure(.protocol, "GET /api/agent/sessions: no sessions list in \(reply.text().prefix(200))")
        }
        return sessions.compactMap { $0["id"]?.string }
    }

    /// `DELETE /api/agent/sessions/<id>?userId=`; once, briefly (also used while stopping).
    func deleteSession(_ id: String, timeoutMilliseconds: Int = 2000) async throws(RelayFailure) {
        var once = self
        once.tries = 1
        _ = try await once.call("DELETE", "/api/agent/sessions/\(id.urlComponentEncoded)?userId=\(userID.urlComponentEncoded)",
                                timeoutMilliseconds: timeoutMilliseconds)
    }

    /// `POST /api/agent/chat/completions` (non-streaming) → the first choice's text.
    func chat(model: String, messages: [JSONValue]) async throws(RelayFailure) -> String {
        let reply = try await call("POST", "/api/agent/chat/completions",
                                   body: ["model": .string(model), "messages": .array(messages)], timeoutMilliseconds: 60_000)
        guard case .array(let choices)? = reply["choices"], let text = choices.first?["message"]?["content"]?.string else {
            throw RelayFailure(.protocol, "POST /api/agent/chat/completions: no choices[0].message.content in \(reply.text().prefix(200))")
        }
        return text
    }

    // MARK: one call

    private func call(_ method: String, _ path: String, body: JSONValue? = nil,
                      timeoutMilliseconds: Int) async throws(RelayFailure) -> JSONValue {
        var headers = [(name: "user-id", value: userID), (name: "Accept", value: "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let request = HTTPRequest(method: method, url: baseURL + path, headers: headers,
                                  body: body.map { Array($0.text().utf8) } ?? [], timeoutMilliseconds: timeoutMilliseconds)
        var delay = firstRetryDelay
        for attempt in 1...tries {
            do {
                return try await once(request)
            } catch {
                guard error.retriable, attempt < tries, !Task.isCancelled else {
                    var failure = error
                    if attempt > 1 { failure.message += " (\(attempt) tries)" }
                    throw failure
                }
            }
            try? await Task.sleep(for: delay)
            delay *= 2
        }
        throw RelayFailure(.connection, "\(method) \(path): no tries")  // tries < 1
    }

    private func once(_ request: HTTPRequest) async throws(RelayFailure) -> JSONValue {
        let path = request.url.dropFirst(baseURL.count).split(separator: "?").first.map(String.init) ?? ""
        let response: HTTPResponse
        do { response = try await http.perform(request) } catch {
            throw RelayFailure(.connection, "\(request.method) \(path): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw RelayFailure(status: response.status, method: request.method, url: request.url, body: response.text)
        }
        guard let json = JSONValue.parse(response.text) else {
            throw RelayFailure(.protocol, "\(request.method) \(path): HTTP \(response.status) body is not JSON: \(response.text.prefix(120))")
        }
        return json
    }

    static func date(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle().parse(text))
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
    }
}
