import ParleyHTTP

/// Why a WebSocket upgrade was refused: the WebSocket client does not say, so the same URL
/// is asked again over plain HTTP(S) for its status and body.
struct UpgradeRefusal {
    var status: Int
    var body: String

    var isAuth: Bool { status == 401 || status == 403 }

    static func probe(_ url: String, headers: [(name: String, value: String)], with http: HTTPClient?) async -> UpgradeRefusal? {
        guard let http else { return nil }
        let httpURL = url.hasPrefix("wss://") ? "https://" + url.dropFirst(6)
            : url.hasPrefix("ws://") ? "http://" + url.dropFirst(5) : url
        let request = HTTPRequest(url: httpURL, headers: headers, timeoutMilliseconds: 5000, maximumResponseBytes: 64 * 1024)
        guard let response = try? await http.perform(request) else { return nil }
        return UpgradeRefusal(status: response.status, body: response.text)
    }
}
