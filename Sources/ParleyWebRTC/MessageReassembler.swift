/// Puts JSON messages back together. webrtcbin 1.22 hands a data channel message larger than
/// its receive buffer (~64 KiB) to `on-message-string` in pieces, boundaries lost; a piece may
/// even end inside a UTF-8 sequence. Every message on the events channel is one JSON value, so
/// a message is complete when its brackets balance outside strings (pure).
public struct MessageReassembler {
    /// Longest message held while its pieces arrive; longer is a protocol error.
    public let limit: Int
    private var buffer: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    public init(limit: Int = 16 << 20) {
        self.limit = limit
    }

    public enum Output: Equatable, Sendable {
        case message(String)
        /// Incomplete: waiting for the next piece.
        case partial
        /// Over the limit, or not JSON: the held bytes are dropped.
        case invalid(String)
    }

    public mutating func feed(_ piece: some Collection<UInt8>) -> Output {
        for byte in piece {
            buffer.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        if depth < 0 || (depth == 0 && !inString && !buffer.isEmpty && buffer.first != UInt8(ascii: "{")
                         && buffer.first != UInt8(ascii: "[")) {
            let size = buffer.count
            reset()
            return .invalid("a \(size)-byte message that is not a JSON object")
        }
        if depth == 0 && !inString {
            let text = String(decoding: buffer, as: UTF8.self)
            reset()
            return .message(text)
        }
        if buffer.count > limit {
            let size = buffer.count
            reset()
            return .invalid("a message over \(limit >> 20) MB (\(size) bytes held)")
        }
        return .partial
    }

    private mutating func reset() {
        buffer.removeAll(keepingCapacity: false)
        depth = 0
        inString = false
        escaped = false
    }
}
