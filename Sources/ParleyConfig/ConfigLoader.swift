import TOMLKit

/// Where configuration is read from.
public struct ConfigPaths: Sendable, Equatable {
    public var mainFile: String
    public var dropInDirectory: String
    /// A main file named on the command line must exist; the system default may be absent.
    public var mainFileRequired: Bool
    /// What remote provisioning wrote (docs/FLEET.md): its `*.toml` apply after the main file
    /// and before the drop-ins, so a device's own drop-in still has the last word.
    public var provisionedDirectory: String?

    public init(mainFile: String, dropInDirectory: String, mainFileRequired: Bool, provisionedDirectory: String? = nil) {
        self.mainFile = mainFile
        self.dropInDirectory = dropInDirectory
        self.mainFileRequired = mainFileRequired
        self.provisionedDirectory = provisionedDirectory
    }

    public static let system = ConfigPaths(
        mainFile: "/etc/parley/parley.toml", dropInDirectory: "/etc/parley/conf.d", mainFileRequired: false)

    /// Where provisioning keeps its files: systemd's StateDirectory (`$STATE_DIRECTORY`), else
    /// /var/lib/parley.
    public static func stateDirectory(environment: [String: String]) -> String {
        environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) } ?? "/var/lib/parley"
    }
}

/// A value some layer set, and which layer.
public struct ConfigEntry: Equatable, Sendable {
    public let value: ConfigValue
    public let source: ConfigSource
}

/// Reads the layers in order — main file, drop-ins in lexical order, environment —
/// each later one overriding. Collects problems instead of stopping at the first.
public struct ConfigLoader: Sendable {
    public static let environmentPrefix = "PARLEY_"
    public static let environmentSeparator = "__"

    public let schema: ConfigSchema
    public let environment: [String: String]
    let trust: FileTrust

    public init(schema: ConfigSchema = .parley, environment: [String: String]) {
        self.init(schema: schema, environment: environment, trust: .current)
    }

    init(schema: ConfigSchema, environment: [String: String], trust: FileTrust) {
        self.schema = schema
        self.environment = environment
        self.trust = trust
    }

    public struct Layers: Sendable {
        public var entries: [String: ConfigEntry] = [:]
        public var files: [String] = []
        public var problems: [ConfigProblem] = []

        public init() {}
    }

    public func load(_ paths: ConfigPaths) -> Layers {
        var layers = Layers()
        loadFile(paths.mainFile, required: paths.mainFileRequired, into: &layers)
        if let provisioned = paths.provisionedDirectory {
            for name in (try? SystemFiles.list(provisioned)) ?? [] where name.hasSuffix(".toml") {
                loadFile(provisioned + "/" + name, required: true, into: &layers)
            }
        }
        // A drop-in directory others may write in is one whose every file they may write.
        if let untrusted = trust.problem(paths.dropInDirectory, source: .file(path: paths.dropInDirectory, line: nil)) {
            layers.problems.append(untrusted)
            loadEnvironment(into: &layers)
            return layers
        }
        do {
            for name in try SystemFiles.list(paths.dropInDirectory) where name.hasSuffix(".toml") {
                loadFile(paths.dropInDirectory + "/" + name, required: true, into: &layers)
            }
        } catch where !error.isMissing {
            layers.problems.append(ConfigProblem(
                .unreadable, source: .file(path: paths.dropInDirectory, line: nil), key: "",
                "cannot list drop-in directory: \(error)", hint: "check the directory's permissions"))
        } catch {}
        loadEnvironment(into: &layers)
        return layers
    }

    /// Parses one TOML text as a layer (also what tests use).
    public func loadText(_ text: String, path: String, into layers: inout Layers) {
        if let bad = TOMLHeaderCheck.firstBadHeader(in: text) {
            layers.problems.append(ConfigProblem(
                .syntax, source: .file(path: path, line: bad.line), key: "",
                "TOML syntax error at column \(bad.column): a table header must start with a key, saw \(bad.found)",
                hint: "write the table name after '[' (letters, digits, _ or -, or a quoted name)"))
            return
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            layers.problems.append(ConfigProblem(
                .syntax, source: .file(path: path, line: error.source.begin.line), key: "",
                "TOML syntax error at column \(error.source.begin.column): \(error.description)",
                hint: "fix the TOML syntax; `parleyd check-config` shows the effective result"))
            return
        } catch {
            layers.problems.append(ConfigProblem(
                .syntax, source: .file(path: path, line: nil), key: "", "cannot parse: \(error)",
                hint: "fix the TOML syntax"))
            return
        }
        layers.files.append(path)
        let locator = TOMLKeyLocator(text: text)
        flatten(table, prefix: "", path: path, locator: locator, into: &layers)
    }

    private func loadFile(_ path: String, required: Bool, into layers: inout Layers) {
        do {
            if let untrusted = trust.problem(path, source: .file(path: path, line: nil)) {
                layers.problems.append(untrusted)
                return
            }
            loadText(try SystemFiles.read(path), path: path, into: &layers)
        } catch where error.isMissing && !required {
            return
        } catch {
            layers.problems.append(ConfigProblem(
                .unreadable, source: .file(path: path, line: nil), key: "", "cannot read: \(error)",
                hint: error.isMissing ? "create the file or point --config at an existing one"
                                      : "make it readable by the parley user"))
        }
    }

    private func flatten(_ table: TOMLTable, prefix: String, path: String, locator: TOMLKeyLocator,
                         into layers: inout Layers) {
        for (name, node) in table {
            let key = prefix.isEmpty ? name : prefix + "." + name
            let source = ConfigSource.file(path: path, line: locator.line(of: key))
            if let sub = node.table {
                flatten(sub, prefix: key, path: path, locator: locator, into: &layers)
            } else if let value = Self.configValue(node) {
                layers.entries[key] = ConfigEntry(value: value, source: source)
            } else {
                layers.problems.append(ConfigProblem(
                    .wrongType, source: source, key: key, "a \(node.type) is not used by any key",
                    hint: schema.key(for: key).map { "expected \($0.kind.typeName), e.g. \($0.example)" }
                        ?? "remove it"))
            }
        }
    }

    static func configValue(_ node: any TOMLValueConvertible) -> ConfigValue? {
        switch node.type {
        case .bool: return node.bool.map(ConfigValue.bool)
        case .int: return node.int.map(ConfigValue.int)
        case .double: return node.double.map(ConfigValue.double)
        case .string: return node.string.map(ConfigValue.string)
        case .array:
            guard let array = node.array else { return nil }
            var strings: [String] = []
            for element in array {
                guard let s = element.string else { return nil }
                strings.append(s)
            }
            return .strings(strings)
        default: return nil
        }
    }

    // MARK: environment

    /// `PARLEY_AUDIO__CAPTURE_DEVICE=hw:1` sets `audio.capture_device`. Only names with the
    /// `__` separator are configuration; other `PARLEY_*` names are left to tools and scripts.
    public static func keyPath(forEnvironmentName name: String) -> String? {
        guard name.hasPrefix(environmentPrefix) else { return nil }
        let body = name.dropFirst(environmentPrefix.count)
        guard body.contains(environmentSeparator) else { return nil }
        return body.split(separator: environmentSeparator, omittingEmptySubsequences: false)
            .map { $0.lowercased() }.joined(separator: ".")
    }

    public static func environmentName(forKeyPath path: String) -> String {
        environmentPrefix + path.split(separator: ".").map { $0.uppercased() }.joined(separator: environmentSeparator)
    }

    private func loadEnvironment(into layers: inout Layers) {
        for name in environment.keys.sorted() {
            guard let key = Self.keyPath(forEnvironmentName: name), let text = environment[name] else { continue }
            let source = ConfigSource.environment(name: name)
            guard let spec = schema.key(for: key) else {
                // Typed as TOML text would be, then judged by the validator like any unknown key.
                layers.entries[key] = ConfigEntry(value: .string(text), source: source)
                continue
            }
            if let value = Self.parse(text, as: spec.kind) {
                layers.entries[key] = ConfigEntry(value: value, source: source)
            } else {
                layers.problems.append(ConfigProblem(
                    .wrongType, source: source, key: key,
                    "expected \(spec.kind.typeName)\(spec.isSecretReference ? "" : ", got \"\(text)\"")",
                    hint: "e.g. \(name)=\(spec.example.trimmingQuotes)"))
            }
        }
    }

    static func parse(_ text: String, as kind: ValueKind) -> ConfigValue? {
        switch kind {
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .bool(true)
            case "false", "0", "no", "off": return .bool(false)
            default: return nil
            }
        case .int: return Int(text).map(ConfigValue.int)
        case .double: return Double(text).map(ConfigValue.double)
        case .strings:
            return .strings(text.split(separator: ",").map { String($0).trimmingSpaces })
        case .string, .choice, .secretFile, .credential, .fileMode, .jsonObject, .url: return .string(text)
        }
    }
}

extension ConfigKey {
    var isSecretReference: Bool { kind == .secretFile || kind == .credential }
}

extension String {
    var trimmingQuotes: String {
        hasPrefix("\"") && hasSuffix("\"") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
    var trimmingSpaces: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
