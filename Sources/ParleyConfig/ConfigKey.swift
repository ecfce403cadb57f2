/// What kind of value a key holds, with its allowed range. The one description that
/// validation, environment parsing, `check-config` and docs/CONFIG.md are all made from.
public enum ValueKind: Sendable, Equatable {
    case bool
    case int(ClosedRange<Int>)
    case double(ClosedRange<Double>)
    case string
    /// One of a fixed set of words.
    case choice([String])
    case strings
    /// A path to a file holding a secret (refused when readable by group or others).
    case secretFile
    /// The name of a systemd credential, read from `$CREDENTIALS_DIRECTORY/<name>`.
    case credential
    /// A file mode in octal, such as "0660".
    case fileMode
    /// A JSON object written as a TOML string (a function's JSON-schema parameters).
    case jsonObject
    /// An endpoint URL (`ConfigURL`) with one of these schemes; "" where the default is "".
    case url([String])

    var typeName: String {
        switch self {
        case .bool: return "bool"
        case .int: return "integer"
        case .double: return "number"
        case .string, .choice, .fileMode: return "string"
        case .strings: return "array of strings"
        case .secretFile: return "string (path)"
        case .credential: return "string (credential name)"
        case .jsonObject: return "string (JSON object)"
        case .url: return "string (URL)"
        }
    }
}

/// Whether a change to a key takes effect on SIGHUP or needs a restart.
public enum ReloadPolicy: Sendable {
    case live
    case restart
}

/// One documented configuration key. `path` may hold one `*` segment for keys in
/// named tables (`board.leds.*.line`), so drop-ins can add or override by name.
public struct ConfigKey: Sendable {
    public let path: String
    public let kind: ValueKind
    /// nil: no default (the key is optional, or required where a rule says so).
    public let defaultValue: ConfigValue?
    public let doc: String
    public let example: String
    public let reload: ReloadPolicy

    public init(_ path: String, _ kind: ValueKind, default defaultValue: ConfigValue?, reload: ReloadPolicy = .restart,
                example: String, _ doc: String) {
        self.path = path
        self.kind = kind
        self.defaultValue = defaultValue
        self.doc = doc
        self.example = example
        self.reload = reload
    }

    public var isPattern: Bool { path.contains("*") }

    /// Whether a concrete key path (`board.leds.rec.line`) is an instance of this key.
    public func matches(_ concrete: String) -> Bool {
        guard isPattern else { return concrete == path }
        let want = path.split(separator: ".", omittingEmptySubsequences: false)
        let have = concrete.split(separator: ".", omittingEmptySubsequences: false)
        guard want.count == have.count else { return false }
        return zip(want, have).allSatisfy { $0 == "*" ? !$1.isEmpty : $0 == $1 }
    }
}
