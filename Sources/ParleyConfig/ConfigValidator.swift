import FoundationEssentials

/// Checks layered entries against the schema and the rules between keys, and builds the
/// effective configuration. Every problem is collected; none stops the others.
public struct ConfigValidator: Sendable {
    public let schema: ConfigSchema

    public init(schema: ConfigSchema = .parley) { self.schema = schema }

    public func validate(_ layers: ConfigLoader.Layers) -> (EffectiveConfig, [ConfigProblem]) {
        var problems = layers.problems
        var items: [String: EffectiveConfig.Item] = [:]

        for (key, entry) in layers.entries.sorted(by: { $0.key < $1.key }) {
            guard let spec = schema.key(for: key) else {
                problems.append(unknownKey(key, entry.source))
                continue
            }
            if let problem = check(entry.value, against: spec, key: key, source: entry.source) {
                problems.append(problem)
                continue
            }
            items[key] = .init(key: key, value: normalized(entry.value, spec), source: entry.source, spec: spec)
        }

        // Defaults: every plain key, and the other keys of each named table that was used.
        for spec in schema.keys where !spec.isPattern && items[spec.path] == nil {
            items[spec.path] = .init(key: spec.path, value: spec.defaultValue, source: .builtIn, spec: spec)
        }
        let instances = Set(items.values.filter { $0.spec.isPattern }.map { tableOf($0.key) })
        for table in instances {
            for spec in schema.keys where spec.isPattern {
                let key = table + "." + spec.path.split(separator: ".").last!
                guard spec.matches(key), items[key] == nil, layers.entries[key] == nil else { continue }  // set but invalid: said
                if let value = spec.defaultValue {
                    items[key] = .init(key: key, value: value, source: .builtIn, spec: spec)
                } else {
                    let source = items.values.first { tableOf($0.key) == table }!.source
                    problems.append(ConfigProblem(.missing, source: source, key: key, "[\(table)] has no \(key)",
                                                  hint: "add it, e.g. \(key) = \(spec.example)"))
                }
            }
        }

        let effective = EffectiveConfig(items: items, files: layers.files)
        problems += crossChecks(effective)
        return (effective, problems)
    }

    private func tableOf(_ key: String) -> String {
        String(key[..<key.lastIndex(of: ".")!])
    }

    private func unknownKey(_ key: String, _ source: ConfigSource) -> ConfigProblem {
        let last = key.split(separator: ".").last.map(String.init) ?? key
        let secretWords = ["api_key", "key", "token", "jwt", "password", "secret"]
        if secretWords.contains(last), let ref = schema.key(for: key + "_file") {
            return ConfigProblem(.unknownKey, source: source, key: key, "secrets are not accepted inline",
                                 hint: "put it in a file (chmod 600) and set \(ref.path), or use a systemd credential")
        }
        if schema.isTablePrefix(key) {
            return ConfigProblem(.unknownKey, source: source, key: key, "\(key) is a table, not a value",
                                 hint: "write its keys under [\(key)]")
        }
        if let near = schema.suggestion(for: key) {
            return ConfigProblem(.unknownKey, source: source, key: key, "unknown key", hint: "did you mean \(near)?")
        }
        return ConfigProblem(.unknownKey, source: source, key: key, "unknown key",
                             hint: "see docs/CONFIG.md for the keys parleyd reads")
    }

    /// nil when `value` fits `spec`.
    private func check(_ value: ConfigValue, against spec: ConfigKey, key: String, source: ConfigSource)
        -> ConfigProblem?
    {
        func wrongType() -> ConfigProblem {
            let shown = spec.isSecretReference ? "" : " \(value.tomlLiteral)"
            return ConfigProblem(.wrongType, source: source, key: key,
                                 "expected \(spec.kind.typeName), got\(shown.isEmpty ? " something else" : shown)",
                                 hint: "e.g. \(key.split(separator: ".").last!) = \(spec.example)")
        }
        switch (spec.kind, value) {
        case (.bool, .bool), (.string, .string), (.strings, .strings):
            return nil
        case (.int(let range), .int(let i)):
            return range.contains(i) ? nil : outOfRange(key, source, "\(i)", "\(range.lowerBound)…\(range.upperBound)")
        case (.double(let range), .double(let d)):
            return range.contains(d) ? nil : outOfRange(key, source, "\(d)", "\(range.lowerBound)…\(range.upperBound)")
        case (.double(let range), .int(let i)):
            return range.contains(Double(i)) ? nil
                : outOfRange(key, source, "\(i)", "\(range.lowerBound)…\(range.upperBound)")
        case (.choice(let choices), .string(let s)):
            if choices.contains(s) { return nil }
            let near = choices.min { editDistance(s, $0) < editDistance(s, $1) }
            let hint = near.map { editDistance(s, $0) <= 2 ? "did you mean \"\($0)\"? " : "" } ?? ""
            return ConfigProblem(.outOfRange, source: source, key: key, "\"\(s)\" is not one of the choices",
                                 hint: hint + "allowed: " + choices.joined(separator: ", "))
        case (.fileMode, .string(let s)):
            let digits = s.hasPrefix("0") ? s.dropFirst() : Substring(s)
            let valid = (3...4).contains(digits.count) && digits.allSatisfy { ("0"..."7").contains($0) }
            return valid ? nil : ConfigProblem(.outOfRange, source: source, key: key,
                                               "\"\(s)\" is not an octal file mode",
                                               hint: "e.g. \(key.split(separator: ".").last!) = \(spec.example)")
        case (.jsonObject, .string(let s)):
            return (try? JSONDecoder().decode([String: AnyJSON].self, from: Data(s.utf8))) != nil ? nil
                : ConfigProblem(.outOfRange, source: source, key: key, "is not a JSON object",
                                hint: "e.g. \(key.split(separator: ".").last!) = \(spec.example)")
        case (.url(let schemes), .string(let s)):
            if s.isEmpty && spec.defaultValue == .string("") { return nil }  // unset
            let example = "e.g. \(key.split(separator: ".").last!) = \(spec.example)"
            switch ConfigURL.parse(s) {
            case .failure(let failure):
                return ConfigProblem(.outOfRange, source: source, key: key, "\"\(s)\" is not a URL: it \(failure.reason)",
                                     hint: example)
            case .success(let url) where !schemes.contains(url.scheme):
                return ConfigProblem(.outOfRange, source: source, key: key, "\(url.scheme):// is not a scheme this endpoint speaks",
                                     hint: "use " + schemes.map { "\($0)://" }.joined(separator: " or ") + "; " + example)
            case .success:
                return nil
            }
        case (.secretFile, .string(let s)), (.credential, .string(let s)):
            return s.isEmpty ? ConfigProblem(.outOfRange, source: source, key: key, "is empty",
                                             hint: "name the \(spec.kind == .secretFile ? "file" : "credential") or remove the key")
                : nil
        default:
            return wrongType()
        }
    }

    private func outOfRange(_ key: String, _ source: ConfigSource, _ value: String, _ range: String) -> ConfigProblem {
        ConfigProblem(.outOfRange, source: source, key: key, "\(value) is out of range", hint: "allowed: \(range)")
    }

    private func normalized(_ value: ConfigValue, _ spec: ConfigKey) -> ConfigValue {
        if case .double = spec.kind, case .int(let i) = value { return .double(Double(i)) }
        return value
    }

    /// Each group names keys of which exactly one must be set.
    private func required(_ groups: [[String]], because reason: String, source: ConfigSource,
                          _ config: EffectiveConfig) -> [ConfigProblem] {
        groups.compactMap { group in
            let set = group.filter { config.optionalString($0) != nil }
            if set.isEmpty {
                let what = group.count == 1 ? group[0] : group.dropLast().joined(separator: ", ") + " or " + group.last!
                let spec = schema.key(for: group[0])
                return ConfigProblem(
                    .missing, source: source, key: group[0], "\(reason) needs \(what)",
                    hint: "set \(group[0]) = \(spec?.example ?? "\"…\"")" + (group.count > 1 ? " (or its alternative)" : ""))
            } else if set.count > 1 {
                return ConfigProblem(
                    .outOfRange, source: config.items[set[1]]?.source ?? source, key: set[1],
                    "\(set.joined(separator: " and ")) are both set", hint: "keep one of them")
            }
            return nil
        }
    }

    private func crossChecks(_ config: EffectiveConfig) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        let kind = config.string("backend.kind")
        let kindSource = config.items["backend.kind"]?.source ?? .builtIn
        problems += required(schema.backendRequirements[kind] ?? [], because: "backend.kind = \"\(kind)\"",
                             source: kindSource, config)
        if config.bool("transcripts.enabled") {
            problems += required(ConfigSchema.transcriptRequirements, because: "transcripts.enabled = true",
                                 source: config.items["transcripts.enabled"]?.source ?? .builtIn, config)
        }
        if !config.bool("audio.mic_mix"), config.int("audio.mic_channel") >= config.int("audio.capture_channels") {
            problems.append(ConfigProblem(
                .outOfRange, source: config.items["audio.mic_channel"]?.source ?? .builtIn, key: "audio.mic_channel",
                "channel \(config.int("audio.mic_channel")) does not exist with audio.capture_channels = \(config.int("audio.capture_channels"))",
                hint: "use 0…\(config.int("audio.capture_channels") - 1), or raise audio.capture_channels"))
        }
        problems += toolChecks(config)
        problems += plainTextSecrets(config)
        return problems
    }

    /// Endpoints whose requests carry a secret, with the keys that hold it: over http:// or
    /// ws:// to another machine, anyone on the path reads the device's key.
    static let secretsByEndpoint: [(url: String, secrets: [String])] = {
        let openAI = ["backend.openai.api_key_file", "backend.openai.api_key_credential"]
        var table: [(String, [String])] = [
            ("backend.openai.url", openAI), ("backend.openai.calls_url", openAI),
            ("backend.openai.ephemeral_key_url", openAI),
            ("backend.rt_relay.base_url", ["backend.rt_relay.api_key_file", "backend.rt_relay.api_key_credential"]),
            ("backend.training.base_url", ["backend.training.token_file", "backend.training.token_credential"]),
            ("backend.agent_c.url", ["backend.agent_c.token_file", "backend.agent_c.token_credential"]),
            ("transcripts.url", ["transcripts.token_file", "transcripts.token_credential"]),
        ]
        for kind in ["agent_routes", "agent_c"] {
            table.append(("backend.\(kind).transcription_url",
                          ["backend.\(kind).transcription_key_file", "backend.\(kind).transcription_key_credential"]))
        }
        return table
    }()

    /// A secret sent in the clear to another machine, unless backend.allow_insecure says so.
    private func plainTextSecrets(_ config: EffectiveConfig) -> [ConfigProblem] {
        guard !config.bool("backend.allow_insecure") else { return [] }
        let used = [LoadedConfig.backendSection(config.string("backend.kind"))]
            + (config.bool("transcripts.enabled") ? ["transcripts."] : [])
        return Self.secretsByEndpoint.compactMap { endpoint in
            guard used.contains(where: endpoint.url.hasPrefix),
                  let text = config.optionalString(endpoint.url), case .success(let url) = ConfigURL.parse(text),
                  !url.isEncrypted, !url.isLoopback,
                  let secret = endpoint.secrets.first(where: { config.optionalString($0) != nil }) else { return nil }
            return ConfigProblem(
                .outOfRange, source: config.items[endpoint.url]?.source ?? .builtIn, key: endpoint.url,
                "\(url.scheme):// would send \(secret)'s secret to \(url.host) unencrypted",
                hint: "use \(url.scheme == "ws" ? "wss" : "https")://; for a lab relay on a network you trust, "
                    + "set backend.allow_insecure = true (each such connection then logs a warning)")
        }
    }

    /// Function names the model can call, and URLs the http handler can reach.
    private func toolChecks(_ config: EffectiveConfig) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        let builtins = config.bool("tools.builtins") ? ToolSettings.builtinNames : []
        for name in config.names(under: "tools.http") {
            let key = "tools.http.\(name).url"
            let source = config.items[key]?.source ?? .builtIn
            let validName = (1...64).contains(name.count)
                && name.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0)
                    || ("A"..."Z").contains($0) || $0 == "_" || $0 == "-" }
            if !validName {
                problems.append(ConfigProblem(.outOfRange, source: source, key: "tools.http.\(name)",
                                              "\"\(name)\" is not a function name the API accepts",
                                              hint: "use letters, digits, _ and - (at most 64)"))
            }
            if builtins.contains(name) {
                problems.append(ConfigProblem(.outOfRange, source: source, key: "tools.http.\(name)",
                                              "\(name) is a built-in function",
                                              hint: "rename the table, or set tools.builtins = false"))
            }
        }
        return problems
    }
}

/// Any JSON value, read only to check that text is JSON (a tool's `parameters` object).
private struct AnyJSON: Decodable {
    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            while !array.isAtEnd { _ = try array.decode(AnyJSON.self) }
        } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
            for key in object.allKeys { _ = try object.decode(AnyJSON.self, forKey: key) }
        } else {
            let value = try decoder.singleValueContainer()
            guard value.decodeNil() || (try? value.decode(Bool.self)) != nil || (try? value.decode(Double.self)) != nil
                || (try? value.decode(String.self)) != nil
            else { throw DecodingError.dataCorruptedError(in: value, debugDescription: "not a JSON value") }
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
