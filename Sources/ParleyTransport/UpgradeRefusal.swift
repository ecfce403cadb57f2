import ParleyHTTP

/// Why a WebSocket upgrade was refused, or its TLS handshake failed: the WebSocket client
/// does not say, so the same URL is asked again over plain HTTP(S) (curl) for its status and
/// body, or for which certificate check failed.
struct UpgradeRefusal {
    var status: Int
    var body: String

    var isAuth: Bool { status == 401 || status == 403 }

    static func probe(_ url: String, headers: [(name: String, value: String)], with http: HTTPClient?) async -> UpgradeRefusal? {
        guard let http else { return nil }
        let request = HTTPRequest(url: httpURL(url), headers: headers, timeoutMilliseconds: 5000, maximumResponseBytes: 64 * 1024)
        guard let response = try? await http.perform(request) else { return nil }
        return UpgradeRefusal(status: response.status, body: response.text)
    }

    /// curl's words for a failed TLS handshake ("SSL certificate problem: certificate has
    /// expired"); no headers are sent: the handshake fails before any would be.
    static func tlsReason(_ url: String, with http: HTTPClient?) async -> String? {
        guard let http else { return nil }
        do {
            _ = try await http.perform(HTTPRequest(url: httpURL(url), timeoutMilliseconds: 5000, maximumResponseBytes: 1024))
            return nil
        } catch {
            return error.kind == .tls ? error.reason : nil
        }
    }

    private static func httpURL(_ url: String) -> String {
        url.hasPrefix("wss://") ? "https://" + url.dropFirst(6) : url.hasPrefix("ws://") ? "http://" + url.dropFirst(5) : url
    }
}
