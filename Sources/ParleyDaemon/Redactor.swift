import Synchronization

/// Removes secrets from text before it is logged: every secret value loaded from config,
/// plus anything shaped like an API key or a bearer token (defense in depth for secrets
/// that arrive some other way, e.g. echoed back in a server error).
public final class Redactor: Sendable {
    public static let mask = "<redacted>"
    private let secrets = Mutex<[String]>([])

    public init() {}

    public func register(_ secret: String) {
        guard !secret.isEmpty else { return }
        secrets.withLock { if !$0.contains(secret) { $0.append(secret) } }
    }

    public func redact(_ text: String) -> String {
        var out = text
        for secret in secrets.withLock({ $0 }) where out.contains(secret) {
            out = out.replacing(secret, with: Self.mask)
        }
        return Self.redactTokenShapes(out)
    }

    /// `sk-…` keys and the token after `Bearer `.
    static func redactTokenShapes(_ text: String) -> String {
        guard text.contains("sk-") || text.contains("Bearer ") || text.contains("bearer ") else { return text }
        var out = ""
        var rest = Substring(text)
        while let match = rest.firstMatch(of: tokenPattern) {
            out += rest[..<match.range.lowerBound]
            out += match.output.1 + mask
            rest = rest[match.range.upperBound...]
        }
        return out + rest
    }

    nonisolated(unsafe) private static let tokenPattern =
        /((?:[Bb]earer\s+)|(?:sk-))[A-Za-z0-9._~+\/=-]{6,}/
}
