/// The configuration after layering and validation: every documented key with its
/// value and where the value came from.
public struct EffectiveConfig: Sendable {
    public struct Item: Sendable {
        public let key: String
        public let value: ConfigValue?
        public let source: ConfigSource
        public let spec: ConfigKey
    }

    public let items: [String: Item]
    public let files: [String]

    public var sortedItems: [Item] { items.values.sorted { $0.key < $1.key } }

    public func value(_ key: String) -> ConfigValue? { items[key]?.value }

    /// An enum-valued key as its case. The schema's word list is the enum's own, and values are
    /// validated before settings are built: a word without a case is a bug, said as such.
    public func choice<T: RawRepresentable>(_ key: String, as _: T.Type) -> T where T.RawValue == String {
        guard let value = T(rawValue: string(key)) else {
            preconditionFailure("\(key) = \"\(string(key))\" passed validation but is no \(T.self)")
        }
        return value
    }

    public func string(_ key: String) -> String {
        if case .string(let s)? = value(key) { return s }
        return ""
    }

    /// nil when the key is unset or empty.
    public func optionalString(_ key: String) -> String? {
        let s = string(key)
        return s.isEmpty ? nil : s
    }

    public func int(_ key: String) -> Int {
        if case .int(let i)? = value(key) { return i }
        return 0
    }

    public func double(_ key: String) -> Double {
        switch value(key) {
        case .double(let d)?: return d
        case .int(let i)?: return Double(i)
        default: return 0
        }
    }

    public func strings(_ key: String) -> [String] {
        if case .strings(let list)? = value(key) { return list }
        return []
    }

    public func bool(_ key: String) -> Bool {
        if case .bool(let b)? = value(key) { return b }
        return false
    }

    /// Names of the tables under a pattern's `*`: `names(under: "board.leds")` → ["rec", "err"].
    public func names(under prefix: String) -> [String] {
        let head = prefix + "."
        var names = Set<String>()
        for key in items.keys where key.hasPrefix(head) && items[key]?.spec.isPattern == true {
            if let name = key.dropFirst(head.count).split(separator: ".").first { names.insert(String(name)) }
        }
        return names.sorted()
    }
}
