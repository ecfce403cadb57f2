/// toml++ 3.x (inside TOMLKit) stops the process on an assertion — in release builds too —
/// when a table header's name starts with a character that cannot start a key: `[.a]`,
/// `[[[`, `[ =`, `[é]`, a lone `[`. Found by fuzzing. An operator's typo must be a config error (and a
/// reload must not kill the daemon), so such a header is found here, before toml++ sees it.
enum TOMLHeaderCheck {
    struct Problem: Equatable {
        let line: Int
        let column: Int
        /// What stands where the name should start: `'.'`, `the end of the line`.
        let found: String
    }

    /// The first header whose name does not start with a bare-key character or a quote.
    /// Skips strings, comments and the insides of array and inline-table values, where a
    /// `[` at the start of a line is a value, not a header.
    static func firstBadHeader(in text: String) -> Problem? {
        let s = Array(text.unicodeScalars)
        var i = 0, line = 1, lineStart = 0
        var depth = 0              // [ and { open in a value
        var atLineStart = true     // only whitespace so far on this line

        func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
        func tripled(_ quote: Unicode.Scalar, _ k: Int) -> Bool { at(k) == quote && at(k + 1) == quote && at(k + 2) == quote }

        while i < s.count {
            let c = s[i]
            switch c {
            case "\n":
                line += 1; lineStart = i + 1; atLineStart = true; i += 1
            case " ", "\t", "\r":
                i += 1
            case "#":
                while i < s.count && s[i] != "\n" { i += 1 }
            case "\"", "'":
                atLineStart = false
                let multiline = tripled(c, i)
                i += multiline ? 3 : 1
                while i < s.count {
                    if c == "\"" && s[i] == "\\" { i += 2; continue }
                    if multiline ? tripled(c, i) : s[i] == c { i += multiline ? 3 : 1; break }
                    if s[i] == "\n" {
                        if !multiline { break }  // unterminated: toml++ reports it
                        line += 1; lineStart = i + 1
                    }
                    i += 1
                }
            case "[" where depth == 0 && atLineStart:
                atLineStart = false
                i += at(i + 1) == "[" ? 2 : 1
                while let next = at(i), next == " " || next == "\t" { i += 1 }
                guard let next = at(i) else {
                    return Problem(line: line, column: i - lineStart + 1, found: "the end of the file")
                }
                if !isKeyStart(next) {
                    let found = next == "\n" || next == "\r" ? "the end of the line" : "'\(Character(next))'"
                    return Problem(line: line, column: i - lineStart + 1, found: found)
                }
            case "[", "{":
                atLineStart = false; depth += 1; i += 1
            case "]", "}":
                atLineStart = false; depth = max(0, depth - 1); i += 1
            default:
                atLineStart = false; i += 1
            }
        }
        return nil
    }

    private static func isKeyStart(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-", "\"", "'": true
        default: false
        }
    }
}
