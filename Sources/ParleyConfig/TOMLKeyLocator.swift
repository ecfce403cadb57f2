/// Finds the line each key is written on, so `check-config` and error messages can say
/// `file:line`. TOMLKit parses values but keeps no positions; this scanner reads only
/// the structure (headers, keys, where strings and arrays end) of text TOMLKit accepted.
struct TOMLKeyLocator {
    private(set) var lines: [String: Int] = [:]

    init(text: String) {
        var table: [String] = []
        var scanner = ValueScanner()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = Substring(rawLine)
            if scanner.isInsideValue {
                scanner.scan(line[...])
                continue
            }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard let first = trimmed.first, first != "#", first != "\r" else { continue }
            if first == "[" {
                let isArray = trimmed.hasPrefix("[[")
                let inner = trimmed.dropFirst(isArray ? 2 : 1)
                let (keys, _) = Self.parseKey(inner)
                table = keys
                record(keys, lineNumber)
                continue
            }
            let (keys, rest) = Self.parseKey(trimmed)
            guard !keys.isEmpty, rest.first == "=" else { continue }
            record(table + keys, lineNumber)
            scanner.scan(rest.dropFirst())
        }
    }

    /// The line of `path`, or of the nearest enclosing key (inline tables, arrays).
    func line(of path: String) -> Int? {
        var parts = path.split(separator: ".").map(String.init)
        while !parts.isEmpty {
            if let line = lines[parts.joined(separator: ".")] { return line }
            parts.removeLast()
        }
        return nil
    }

    private mutating func record(_ keys: [String], _ line: Int) {
        let path = keys.joined(separator: ".")
        if lines[path] == nil { lines[path] = line }
    }

    /// Reads `a."b c".d` up to `=` or `]`; returns the segments and what follows (trimmed).
    static func parseKey(_ text: Substring) -> ([String], Substring) {
        var keys: [String] = []
        var rest = text
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard let c = rest.first else { return (keys, rest) }
            if c == "\"" || c == "'" {
                let body = rest.dropFirst()
                guard let end = body.firstIndex(of: c) else { return (keys, rest) }
                keys.append(String(body[..<end]))
                rest = body[body.index(after: end)...]
            } else {
                let bare = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
                guard !bare.isEmpty else { return (keys, rest) }
                keys.append(String(bare))
                rest = rest.dropFirst(bare.count)
            }
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard rest.first == "." else { return (keys, rest) }
            rest = rest.dropFirst()
        }
    }
}

/// Tracks whether a value continues on the next line: an open multi-line string or bracket.
private struct ValueScanner {
    var openString: String?
    var depth = 0

    var isInsideValue: Bool { openString != nil || depth > 0 }

    mutating func scan(_ text: Substring) {
        var rest = text
        while !rest.isEmpty {
            if let delimiter = openString {
                guard let range = rest.firstRange(of: delimiter) else { return }
                openString = nil
                rest = rest[range.upperBound...]
                continue
            }
            if rest.hasPrefix("\"\"\"") || rest.hasPrefix("'''") {
                openString = String(rest.prefix(3))
                rest = rest.dropFirst(3)
                continue
            }
            let c = rest.removeFirst()
            switch c {
            case "#": return
            case "[", "{": depth += 1
            case "]", "}": depth = max(0, depth - 1)
            case "\"": skipString(&rest, quote: "\"", escapes: true)
            case "'": skipString(&rest, quote: "'", escapes: false)
            default: break
            }
        }
    }

    private func skipString(_ rest: inout Substring, quote: Character, escapes: Bool) {
        while let c = rest.first {
            rest.removeFirst()
            if escapes && c == "\\" { if !rest.isEmpty { rest.removeFirst() } } else if c == quote { return }
        }
    }
}
