/// Server-Sent Events from a byte stream, incrementally, as the HTML standard's
/// "event stream interpretation" says: lines end in CRLF, LF or CR; `data:` lines join
/// with newlines; `event:`, `id:` (no NUL), `retry:` (digits only); `:` starts a comment;
/// an empty line dispatches; an event with no data is not dispatched; an unfinished event
/// at the end of the stream is dropped. Pure and synchronous: feed it whatever chunks the
/// network delivers (a value type, no per-byte hops).
public struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        /// "message" unless the server named it.
        public var type: String
        public var data: String
        /// The stream's last event ID as of this event (sent back as Last-Event-ID).
        public var lastEventID: String

        public init(type: String = "message", data: String, lastEventID: String = "") {
            self.type = type
            self.data = data
            self.lastEventID = lastEventID
        }
    }

    public private(set) var lastEventID = ""
    /// The server's `retry:` in milliseconds, when it sent one.
    public private(set) var retryMilliseconds: Int?
    /// Events dropped because they grew past `maximumEventBytes` (a broken or hostile server).
    public private(set) var oversizedEvents = 0
    public let maximumEventBytes: Int

    private var line: [UInt8] = []
    private var afterCR = false
    private var atStart = true
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType = ""
    private var oversized = false

    public init(maximumEventBytes: Int = 1 << 20) {
        self.maximumEventBytes = maximumEventBytes
    }

    /// The events completed by `bytes`, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            switch byte {
            case 0x0A where afterCR:
                afterCR = false  // the LF of a CRLF: the line already ended at the CR
            case 0x0A, 0x0D:
                afterCR = byte == 0x0D
                if let event = endLine() { events.append(event) }
            default:
                afterCR = false
                if line.count < maximumEventBytes { line.append(byte) } else { oversized = true }
            }
        }
        return events
    }

    /// A new connection: line state starts afresh; the last event ID and retry persist.
    public mutating func reset() {
        line.removeAll(keepingCapacity: true)
        afterCR = false
        atStart = true
        clearEvent()
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }  // a BOM at the stream's start
        }
        guard !line.isEmpty else { return dispatch() }
        if line[0] == UInt8(ascii: ":") { return nil }  // comment (keep-alives)
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let name = line[..<(colon ?? line.endIndex)]
        var value = colon.map { line[line.index(after: $0)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch String(decoding: name, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            if data.count + value.count + 1 > maximumEventBytes { oversized = true }
            if !oversized {
                data.append(contentsOf: value)
                data.append(0x0A)
            }
            hasData = true
        case "id":
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ (0x30...0x39).contains($0) }),
               let milliseconds = Int(String(decoding: value, as: UTF8.self)) {
                retryMilliseconds = milliseconds
            }
        default:
            break  // unknown fields are ignored
        }
        return nil
    }

    private mutating func dispatch() -> Event? {
        defer { clearEvent() }
        if oversized {
            oversizedEvents += 1
            return nil
        }
        guard hasData else { return nil }
        if data.last == 0x0A { data.removeLast() }
        return Event(type: eventType.isEmpty ? "message" : eventType, data: String(decoding: data, as: UTF8.self),
                     lastEventID: lastEventID)
    }

    private mutating func clearEvent() {
        data.removeAll(keepingCapacity: true)
        hasData = false
        eventType = ""
        oversized = false
    }
}
