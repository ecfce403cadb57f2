/// One thing wrong with the configuration, said so that an operator can fix it:
/// where (file:line or environment variable), which key, what, and how.
public struct ConfigProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case syntax, unknownKey, wrongType, outOfRange, missing, secret, unreadable, untrusted
    }

    public let kind: Kind
    public let source: ConfigSource
    public let key: String
    public let message: String
    public let hint: String

    public init(_ kind: Kind, source: ConfigSource, key: String, _ message: String, hint: String) {
        self.kind = kind
        self.source = source
        self.key = key
        self.message = message
        self.hint = hint
    }

    public var description: String {
        let place = key.isEmpty ? "\(source)" : "\(source): \(key)"
        return "\(place): \(message)\n    hint: \(hint)"
    }
}

/// All problems found in one load: reported together, so one edit round fixes them all.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 stops a restart loop on it.
    public static let exitCode: Int32 = 78

    public let problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) { self.problems = problems }

    public var description: String {
        let n = problems.count
        let head = "configuration has \(n) problem\(n == 1 ? "" : "s"):"
        return ([head] + problems.map { "  " + $0.description }).joined(separator: "\n")
    }
}
