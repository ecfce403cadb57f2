/// An endpoint URL as the configuration accepts it: `scheme://host[:port][/path][?query]`,
/// nothing more (no user:password@, no spaces or control characters). Parsed the same way by
/// `check-config` and the daemon, so a URL check-config passes is one the transports can dial.
public struct ConfigURL: Sendable, Equatable {
    public let scheme: String
    public let host: String
    public let port: Int?

    /// The schemes that carry nothing in the clear, and their plain twins.
    public static let encrypted: Set<String> = ["https", "wss"]

    public var isEncrypted: Bool { Self.encrypted.contains(scheme) }

    /// 127.0.0.0/8, ::1 and localhost: what is sent there never leaves the machine.
    public var isLoopback: Bool {
        host == "localhost" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Why `text` is not a URL, or the URL.
    public static func parse(_ text: String) -> Result<ConfigURL, Failure> {
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .failure(.init("has no scheme:// in front")) }
        let scheme = String(parts[0])
        guard let first = scheme.first, first.isASCII && first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else {
            return .failure(.init("has no scheme:// in front"))
        }
        if let bad = text.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value == 0x7f }) {
            return .failure(.init(bad == " " ? "contains a space" : "contains a control character"))
        }
        let rest = parts[1]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else {
            return .failure(.init("carries a user name or password (user@host): secrets go in *_file keys"))
        }
        var host = Substring(authority)
        var port: Int?
        if host.hasPrefix("[") {  // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else { return .failure(.init("has an unclosed [ in its host")) }
            let after = host[host.index(after: close)...]
            host = host[...close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.init("has text after its [IPv6] host")) }
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    return .failure(.init("has a port that is not 1…65535"))
                }
                port = p
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(.init("has a port that is not 1…65535"))
            }
            port = p
            host = host[..<colon]
        }
        let hostOK = host.hasPrefix("[")
            || host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
        guard !host.isEmpty, hostOK else { return .failure(.init("has no host name")) }
        return .success(ConfigURL(scheme: scheme.lowercased(), host: host.lowercased(), port: port))
    }

    public struct Failure: Error, Equatable, Sendable {
        public let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
