import FoundationEssentials

/// One finished transcript as seed 003's `TranscriptCreate`: the JSON body of
/// `POST /realtime/transcripts`. The seed's server checks `user_id` against the JWT's user.
public struct Transcript: Sendable, Equatable, Codable {
    public var userID: String
    /// "user" or "assistant".
    public var role: String
    public var content: String
    public var deviceID: String
    /// When the transcript was finished on the device, ISO 8601 UTC.
    public var createdAt: String

    public init(userID: String, role: String, content: String, deviceID: String, createdAt: String) {
        self.userID = userID
        self.role = role
        self.content = content
        self.deviceID = deviceID
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id", role, content, deviceID = "device_id", createdAt = "created_at"
    }

    public var body: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }

    public static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// What one delivery attempt's response means for the queued transcript. Pure.
public enum DeliveryOutcome: Equatable, Sendable {
    case delivered
    /// The endpoint refuses this body for good (it will never take it): set aside, not retried.
    case rejected(String)
    /// Worth trying again later: the endpoint is down, overloaded or refusing the token.
    case retry(String)

    /// 400, 413, 415 and 422 judge the body itself; every other failure (401/403 tokens,
    /// 404 a wrong URL or a deploy in progress, 408/429, 5xx) can heal, so the transcript waits.
    public static func of(status: Int, body: String) -> DeliveryOutcome {
        let detail = "HTTP \(status)" + (body.isEmpty ? "" : ": \(body.prefix(200))")
        switch status {
        case 200..<300: return .delivered
        case 400, 413, 415, 422: return .rejected(detail)
        default: return .retry(detail)
        }
    }
}
