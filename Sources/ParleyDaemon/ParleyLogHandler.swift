import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Log lines to stderr in the form its reader wants: `<N>` priority prefixes for journald
/// (JOURNAL_STREAM), plain text with a timestamp otherwise, or one JSON object per line.
/// Every line passes through the redactor. The level is shared so SIGHUP can change it.
public struct ParleyLogHandler: LogHandler {
    public enum Format: Sendable { case journal, plain, json }

    /// State every handler shares: the level (reloadable) and the redactor.
    public final class Shared: Sendable {
        let level: Atomic<UInt8>
        public let redactor: Redactor
        let format: Format
        let write: @Sendable (String) -> Void

        public init(level: Logger.Level, format: Format, redactor: Redactor,
                    write: @escaping @Sendable (String) -> Void = ParleyLogHandler.writeToStderr) {
            self.level = Atomic(Shared.code(level))
            self.format = format
            self.redactor = redactor
            self.write = write
        }

        public var logLevel: Logger.Level {
            get { Logger.Level.allCases[Int(level.load(ordering: .relaxed))] }
        }

        public func setLevel(_ newLevel: Logger.Level) { level.store(Shared.code(newLevel), ordering: .relaxed) }

        static func code(_ level: Logger.Level) -> UInt8 { UInt8(Logger.Level.allCases.firstIndex(of: level)!) }
    }

    public let label: String
    public var metadata: Logger.Metadata = [:]
    private let shared: Shared

    public init(label: String, shared: Shared) {
        self.label = label
        self.shared = shared
    }

    public var logLevel: Logger.Level {
        get { shared.logLevel }
        set { shared.setLevel(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let message = shared.redactor.redact(event.message.description)
        let fields = all.sorted { $0.key < $1.key }.map { ($0.key, shared.redactor.redact("\($0.value)")) }
        shared.write(Self.format(shared.format, level: event.level, label: label, message: message, fields: fields))
    }

    static func format(_ format: Format, level: Logger.Level, label: String, message: String,
                       fields: [(String, String)]) -> String {
        // One event, one physical line: text from the network or a file (an answer, a server's
        // error, a path) can carry newlines or terminal escapes, and must not forge a line of
        // its own or repaint the operator's terminal.
        let tail = fields.map { " \($0.0)=\(escaped($0.1))" }.joined()
        switch format {
        case .journal:
            return "<\(syslogPriority(level))>\(label): \(escaped(message))\(tail)\n"  // journald adds the time
        case .plain:
            return "\(timestamp()) \(level.rawValue.uppercased()) \(label): \(escaped(message))\(tail)\n"
        case .json:
            var object = "{\"ts\":\"\(timestamp())\",\"level\":\"\(level.rawValue)\",\"label\":\(jsonString(label))"
            object += ",\"msg\":\(jsonString(message))"
            for (key, value) in fields { object += ",\(jsonString(key)):\(jsonString(value))" }
            return object + "}\n"
        }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// Control characters (C0, DEL, C1, and the line and paragraph separators) as visible
    /// escapes: `\n`, `\r`, `\t`, else `\u{1b}`; a backslash is doubled so an escape cannot be faked.
    static func escaped(_ s: String) -> String {
        func control(_ c: Unicode.Scalar) -> Bool {
            c.value < 0x20 || (0x7f...0x9f).contains(c.value) || c == "\u{2028}" || c == "\u{2029}"
        }
        guard s.unicodeScalars.contains(where: { control($0) || $0 == "\\" }) else { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where control(scalar): out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// UTC, millisecond precision, ISO 8601.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }

    public static let writeToStderr: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// journal when stderr is the stream systemd named in JOURNAL_STREAM, plain otherwise.
    public static func detectFormat(environment: [String: String]) -> Format {
        guard let stream = environment["JOURNAL_STREAM"] else { return .plain }
        var st = stat()
        guard fstat(2, &st) == 0 else { return .plain }
        return stream == "\(st.st_dev):\(st.st_ino)" ? .journal : .plain
    }
}
