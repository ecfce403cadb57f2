import ParleyRealtime

/// A failed relay request, classified for the metric, the retry and its pace.
package struct RelayFailure: Error {
    var kind: BackendError.Kind
    package var message: String
    /// The HTTP status, when there was a response.
    var status: Int?
    /// 503 from the rt relay: the session is not active; start a new one.
    var sessionGone: Bool { status == 503 }

    init(_ kind: BackendError.Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// From an HTTP status and the relay's error JSON: seed 001's `{error, sessionId}` or
    /// seed 000's `{error, message, details}`; any other body is quoted (shortened).
    package init(status: Int, method: String, url: String, body: String) {
        self.status = status
        let json = JSONValue.parse(body)
        var words = json?["error"]?.string ?? String(body.prefix(200))
        if let detail = json?["message"]?.string, !detail.isEmpty, detail != words { words += ": " + detail }
        if let details = json?["details"], details != .null {
            words += " (" + (details.string ?? details.text()).prefix(200) + ")"
        }
        kind = switch status {
        case 401, 403: .auth
        case 429: .rateLimit
        default: .server
        }
        let path = url.firstRange(of: "/api/").map { String(url[$0.lowerBound...]) } ?? url
        message = "\(method) \(path.split(separator: "?").first ?? ""): HTTP \(status) \(words)"
    }

    /// Worth another try: no response, a 5xx, or 429. A 4xx will not change by retrying.
    var retriable: Bool {
        guard let status else { return kind == .connection }
        return status >= 500 || status == 429 || status == 408
    }
}
