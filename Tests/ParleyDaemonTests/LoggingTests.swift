import Logging
import Synchronization
import Testing
@testable import ParleyDaemon

/// Collects what a handler writes.
final class LineSink: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var text: String { all.joined() }
    func write(_ line: String) { lines.withLock { $0.append(line) } }
}

@Suite struct LoggingTests {
    let secret = "sk-proj-KNOWN-SECRET-0123456789abcdef"

    func logger(_ format: ParleyLogHandler.Format, level: Logger.Level = .info) -> (Logger, LineSink, ParleyLogHandler.Shared) {
        let sink = LineSink()
        let shared = ParleyLogHandler.Shared(level: level, format: format, redactor: Redactor()) { sink.write($0) }
        return (Logger(label: "parleyd") { ParleyLogHandler(label: $0, shared: shared) }, sink, shared)
    }

    @Test func knownSecretNeverReachesALogLine() {
        let (log, sink, shared) = logger(.plain)
        shared.redactor.register(secret)
        log.info("connecting with key \(secret)")
        log.error("server said: invalid key \(secret)!", metadata: ["header": "Authorization: Bearer \(secret)"])
        log.warning("token=\(secret.dropFirst(3))")  // a fragment is not the secret, but is shaped like one
        #expect(!sink.text.contains(secret))
        #expect(sink.all[0].contains("connecting with key <redacted>"))
        #expect(sink.all[1].contains("header=Authorization: Bearer <redacted>"))
    }

    @Test func tokenShapesAreRedactedEvenWhenNotRegistered() {
        #expect(Redactor().redact("Authorization: Bearer eyJhbGciOi.J9x-y_z") == "Authorization: Bearer <redacted>")
        #expect(Redactor().redact("key sk-abc123def456 ok") == "key sk-<redacted> ok")
        #expect(Redactor().redact("a task-list of sk- items") == "a task-list of sk- items")
    }

    @Test func journalLinesCarrySyslogPriorities() {
        let (log, sink, _) = logger(.journal, level: .debug)
        log.debug("d")
        log.info("i")
        log.notice("n")
        log.warning("w")
        log.error("e\nsecond line")
        log.critical("c")
        #expect(sink.all == ["<7>parleyd: d\n", "<6>parleyd: i\n", "<5>parleyd: n\n", "<4>parleyd: w\n",
                             "<3>parleyd: e\\nsecond line\n", "<2>parleyd: c\n"])
    }

    /// Regression: an Agent C reply "Fine.\n2026-01-01T00:00:00.000Z ERROR parleyd: FORGED LINE"
    /// appeared in the log as a line of its own. Every event is one physical line, whatever
    /// the text carries (newlines, carriage returns, terminal escapes, a faked escape).
    @Test func textFromTheNetworkCannotForgeALineOrPaintTheTerminal() {
        let forged = "Fine.\n2026-01-01T00:00:00.000Z ERROR parleyd: FORGED LINE\r\u{1b}[2J\\n\u{85}"
        for format in [ParleyLogHandler.Format.plain, .journal] {
            let (log, sink, _) = logger(format)
            log.info("agent_c: answer: \(forged)", metadata: ["peer": "\(forged)"])
            let line = sink.all[0]
            #expect(line.filter { $0 == "\n" }.count == 1 && line.hasSuffix("\n"))
            #expect(!line.dropLast().contains { $0 == "\r" || $0 == "\u{1b}" || $0 == "\u{85}" })
            #expect(line.contains("Fine.\\n2026-01-01T00:00:00.000Z ERROR parleyd: FORGED LINE\\r\\u{1b}[2J\\\\n\\u{85}"))
        }
    }

    @Test func jsonLinesAreObjectsWithEscapes() {
        let (log, sink, _) = logger(.json)
        log.info("say \"hi\"\n", metadata: ["turn": "3"])
        let line = sink.all[0]
        #expect(line.hasPrefix("{\"ts\":\""))
        #expect(line.hasSuffix(",\"level\":\"info\",\"label\":\"parleyd\",\"msg\":\"say \\\"hi\\\"\\n\",\"turn\":\"3\"}\n"))
    }

    @Test func levelIsSharedAndChangesLive() {
        let (log, sink, shared) = logger(.plain, level: .warning)
        log.info("hidden")
        shared.setLevel(.debug)
        log.debug("shown")
        #expect(sink.all.count == 1)
        #expect(sink.all[0].contains("DEBUG parleyd: shown"))
    }

    @Test func journalOnlyWhenStderrIsTheNamedStream() {
        #expect(ParleyLogHandler.detectFormat(environment: [:]) == .plain)
        #expect(ParleyLogHandler.detectFormat(environment: ["JOURNAL_STREAM": "1:1"]) == .plain)
    }
}
