/// Text renderings of configuration for people: the effective config (`check-config`)
/// and the key reference in docs/CONFIG.md.
public enum ConfigReport {
    /// The effective configuration as TOML, each value followed by its source. Secret
    /// values never appear; the keys that reference them show that a secret was read.
    public static func effective(_ config: LoadedConfig) -> String {
        let effective = config.effective
        var out = "# parleyd effective configuration\n"
        out += "# files: " + (effective.files.isEmpty ? "none (built-in defaults)" : effective.files.joined(separator: ", ")) + "\n"
        var section = ""
        // Grouped by table, so each [section] appears once.
        func table(_ key: String) -> Substring { key[..<key.lastIndex(of: ".")!] }
        let items = effective.sortedItems.sorted { (table($0.key), $0.key) < (table($1.key), $1.key) }
        let widths: [Int] = items.map { item in
            let name = item.key.split(separator: ".").last!
            return name.count + (item.value?.tomlLiteral.count ?? 0) + 3
        }
        let width = widths.filter { $0 < 60 }.max() ?? 40
        for item in items {
            let table = String(item.key[..<item.key.lastIndex(of: ".")!])
            let name = String(item.key.split(separator: ".").last!)
            if table != section {
                out += "\n[\(table)]\n"
                section = table
            }
            var note = "\(item.source)"
            if let secret = config.secrets[item.key] {
                note += "; secret read, \(secret.byteCount) bytes, value redacted"
            }
            guard let value = item.value else {
                out += "# \(name) is not set\n"
                continue
            }
            let line = "\(name) = \(value.tomlLiteral)"
            let pad = String(repeating: " ", count: max(1, width - line.count))
            out += line + pad + "# " + note + "\n"
        }
        return out
    }

    /// Markdown table of every key, from the schema.
    public static func reference(_ schema: ConfigSchema = .parley) -> String {
        var out = ""
        var section = ""
        for key in schema.keys {
            let top = String(key.path.split(separator: ".").first!)
            if top != section {
                section = top
                out += "\n### [\(top)]\n\n| key | type | default | example | reload | meaning |\n|---|---|---|---|---|---|\n"
            }
            let type: String
            switch key.kind {
            case .int(let r): type = "integer \(r.lowerBound)…\(r.upperBound)"
            case .double(let r): type = "number \(r.lowerBound)…\(r.upperBound)"
            case .choice(let c): type = c.joined(separator: " \\| ")
            case .url(let schemes): type = "URL (" + schemes.map { "\($0)://" }.joined(separator: ", ") + ")"
            default: type = key.kind.typeName
            }
            let defaultText = key.defaultValue.map { "`\($0.tomlLiteral)`" } ?? "—"
            out += "| `\(key.path)` | \(type) | \(defaultText) | `\(key.example)` | \(key.reload == .live ? "live" : "restart") | \(key.doc) |\n"
        }
        return out
    }
}
