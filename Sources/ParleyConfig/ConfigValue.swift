/// A configuration value after parsing, before it is mapped into a settings struct.
public enum ConfigValue: Equatable, Sendable {
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case strings([String])

    /// The value as it would be written in a TOML file.
    public var tomlLiteral: String {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return Self.quote(s)
        case .strings(let list): return "[" + list.map(Self.quote).joined(separator: ", ") + "]"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}

/// Where a value came from: what `parleyd check-config` prints beside it.
public enum ConfigSource: Equatable, Sendable, CustomStringConvertible {
    case builtIn
    case file(path: String, line: Int?)
    case environment(name: String)

    public var description: String {
        switch self {
        case .builtIn: return "default"
        case .file(let path, let line?): return "\(path):\(line)"
        case .file(let path, nil): return path
        case .environment(let name): return "env \(name)"
        }
    }
}
