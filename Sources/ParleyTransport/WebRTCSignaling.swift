import ParleyHTTP
import ParleyRealtime

/// The SDP offer/answer exchange of each WebRTC backend: one HTTP request carrying our offer,
/// the answer in its reply (no trickle ICE: the offer holds every candidate).
public struct WebRTCSignaling: Sendable {
    public enum Route: Sendable {
        /// OpenAI GA: `POST /v1/realtime/calls`, `application/sdp`, Bearer key → 201, the answer,
        /// `Location` naming the call. The key is the API key, or an ephemeral one minted per call.
        case openAICalls(url: String, key: CallKey)
        /// Seed 002's office server: `POST /api/voice/realtime/connect` `{sdp, model}` → `{sdp}`.
        case office(baseURL: String, model: String)
        /// Seed 003's training backend: `POST /realtime/webrtc-offer`, `application/sdp`, Bearer
        /// JWT; a body starting with `v=0` is the answer whatever the status (as the seed says).
        case training(baseURL: String, token: String)
        /// Seed 000's agent routes relay: `POST /api/agent/v1/realtime?model=`, `application/sdp`,
        /// `user-id` → the answer (after the REST session, with the Socket.io plane).
        case agentRoutes(baseURL: String, userID: String, model: String)
    }

    /// What dials an OpenAI call.
    public enum CallKey: Sendable {
        case apiKey(String)
        /// `POST url` with OpenAI's client_secrets body (the API key, if any, as Bearer) →
        /// `{value}` (GA) or `{client_secret: {value}}`: a key for this call only.
        case ephemeral(url: String, apiKey: String?, model: String)
    }

    public let route: Route
    public let timeoutMilliseconds: Int

    public init(route: Route, timeoutMilliseconds: Int = 15000) {
        self.route = route
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// One call as the server knows it: its id, and how to end it on the server's side.
    public struct Call: Sendable {
        public let id: String
        /// OpenAI's `POST /v1/realtime/calls/{id}/hangup`, with the key that dialled it. The relays
        /// have no such route: their calls end with the peer connection.
        public let hangUp: HTTPRequest
    }

    /// The answer, and the call when the server names one.
    public func exchange(offer: String, http: HTTPClient) async throws(RealtimeLinkError) -> (answer: String, call: Call?) {
        var bearer: String?
        if case .openAICalls(_, let key) = route { bearer = try await callKey(key, http: http) }
        let response: HTTPResponse
        do { response = try await http.perform(request(offer: offer, bearer: bearer)) } catch {
            throw RealtimeLinkError("SDP exchange with \(endpoint) failed: \(error)")
        }
        switch route {
        case .openAICalls(let url, _):
            try check(response)
            let call = response.header("Location")?.split(separator: "/").last.map(String.init).map { id in
                Call(id: id, hangUp: HTTPRequest(method: "POST", url: url.trimmingSuffix("/") + "/\(id.urlComponentEncoded)/hangup",
                                                 headers: [("Authorization", "Bearer \(bearer ?? "")")],
                                                 body: [], timeoutMilliseconds: 500))
            }
            return (try sdp(response.text), call)
        case .office:
            try check(response)
            guard let answer = JSONValue.parse(response.text)?["sdp"]?.string else {
                throw RealtimeLinkError("\(endpoint) answered HTTP \(response.status) without {\"sdp\": …}: \(excerpt(response.text))")
            }
            return (try sdp(answer), nil)
        case .training:
            if Self.isSDP(response.text) { return (response.text, nil) }
            try check(response)
            return (try sdp(response.text), nil)
        case .agentRoutes:
            try check(response)
            return (try sdp(response.text), nil)
        }
    }

    var endpoint: String {
        switch route {
        case .openAICalls(let url, _): url
        case .office(let base, _): base.trimmingSuffix("/") + "/api/voice/realtime/connect"
        case .training(let base, _): base.trimmingSuffix("/") + "/realtime/webrtc-offer"
        case .agentRoutes(let base, _, let model):
            base.trimmingSuffix("/") + "/api/agent/v1/realtime?model=" + model.urlComponentEncoded
        }
    }

    /// The API key, or a fresh ephemeral key from the relay endpoint.
    private func callKey(_ key: CallKey, http: HTTPClient) async throws(RealtimeLinkError) -> String {
        let (url, apiKey, model): (String, String?, String)
        switch key {
        case .apiKey(let value): return value
        case .ephemeral(let mint, let bearer, let session): (url, apiKey, model) = (mint, bearer, session)
        }
        let body = JSONValue.object(["expires_after": ["anchor": "created_at", "seconds": 600],
                                     "session": ["type": "realtime", "model": .string(model)]])
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let response: HTTPResponse
        do {
            response = try await http.perform(HTTPRequest(method: "POST", url: url, headers: headers,
                                                          body: Array(body.text().utf8),
                                                          timeoutMilliseconds: timeoutMilliseconds))
        } catch {
            throw RealtimeLinkError("ephemeral key from \(url) failed: \(error)")
        }
        try check(response, "\(url) refused an ephemeral key")
        let json = JSONValue.parse(response.text)
        guard let value = json?["value"]?.string ?? json?["client_secret"]?["value"]?.string, !value.isEmpty else {
            throw RealtimeLinkError("\(url) answered without an ephemeral key ({value} or {client_secret: {value}}): \(excerpt(response.text))")
        }
        return value
    }

    private func request(offer: String, bearer: String?) -> HTTPRequest {
        let body: [UInt8]
        var headers: [(name: String, value: String)] = [("Accept", "application/sdp, application/json")]
        switch route {
        case .openAICalls:
            headers += [("Content-Type", "application/sdp"), ("Authorization", "Bearer \(bearer ?? "")")]
            body = Array(offer.utf8)
        case .office(_, let model):
            headers.append(("Content-Type", "application/json"))
            body = Array(JSONValue.object(["sdp": .string(offer), "model": .string(model)]).text().utf8)
        case .training(_, let token):
            headers += [("Content-Type", "application/sdp"), ("Authorization", "Bearer \(token)")]
            body = Array(offer.utf8)
        case .agentRoutes(_, let user, _):
            headers += [("Content-Type", "application/sdp"), ("user-id", user)]
            body = Array(offer.utf8)
        }
        return HTTPRequest(method: "POST", url: endpoint, headers: headers, body: body,
                           timeoutMilliseconds: timeoutMilliseconds)
    }

    /// A non-2xx answer in words: the status, the server's message, a hint when it is the key.
    private func check(_ response: HTTPResponse, _ what: String? = nil) throws(RealtimeLinkError) {
        guard !(200..<300).contains(response.status) else { return }
        let error = JSONValue.parse(response.text)
        // OpenAI {error: {message}}, seed 000 {error, message}, FastAPI {detail}.
        let detail = error?["error"]?["message"]?.string ?? error?["message"]?.string ?? error?["detail"]?.string
            ?? excerpt(response.text)
        let auth = response.status == 401 || response.status == 403
        throw RealtimeLinkError("\(what ?? "\(endpoint) refused the offer"): HTTP \(response.status)"
                                + (detail.isEmpty ? "" : " \(detail)")
                                + (auth ? " (check the backend's key or token)" : ""), isAuth: auth)
    }

    private func sdp(_ text: String) throws(RealtimeLinkError) -> String {
        guard Self.isSDP(text) else {
            throw RealtimeLinkError("\(endpoint) answered with something that is not SDP: \(excerpt(text))")
        }
        return text
    }

    /// Whether a body is SDP (seed 003 takes any status with one).
    static func isSDP(_ text: String) -> Bool {
        text.drop(while: { $0.isWhitespace }).hasPrefix("v=0")
    }

    private func excerpt(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 160 ? String(line.prefix(160)) + "…" : line
    }
}
