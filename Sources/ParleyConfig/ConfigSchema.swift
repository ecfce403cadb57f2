/// The set of documented keys, and the rules between them.
public struct ConfigSchema: Sendable {
    public let keys: [ConfigKey]
    /// Backend kind → the keys (or alternatives) it cannot do without.
    public let backendRequirements: [String: [[String]]]

    public init(keys: [ConfigKey], backendRequirements: [String: [[String]]] = [:]) {
        self.keys = keys
        self.backendRequirements = backendRequirements
    }

    public func key(for concrete: String) -> ConfigKey? {
        keys.first { $0.matches(concrete) }
    }

    /// The sections a file may hold (`audio`, `board.leds.<name>`, …).
    func isTablePrefix(_ path: String) -> Bool {
        let have = path.split(separator: ".")
        return keys.contains { key in
            let parts = key.path.split(separator: ".")
            return have.count < parts.count && zip(parts, have).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }

    /// The nearest documented key, for "did you mean" hints on typos.
    public func suggestion(for unknown: String) -> String? {
        let candidates = keys.map(\.path)
        var best: (String, Int)?
        for candidate in candidates {
            let d = editDistance(unknown, candidate)
            if best == nil || d < best!.1 { best = (candidate, d) }
        }
        guard let (path, distance) = best else { return nil }
        let limit = max(2, unknown.count / 4)
        return distance <= limit ? path : nil
    }
}

/// Levenshtein distance, small strings only (config keys).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
