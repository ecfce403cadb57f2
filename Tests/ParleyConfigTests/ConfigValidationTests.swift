import Testing
@testable import ParleyConfig

@Suite struct ConfigValidationTests {
    let dir = TestDirectory()

    func problems(_ toml: String, environment: [String: String] = [:]) -> [ConfigProblem] {
        let main = dir.write("parley.toml", toml)
        do {
            _ = try LoadedConfig.load(
                paths: ConfigPaths(mainFile: main, dropInDirectory: dir.path + "/conf.d", mainFileRequired: true),
                environment: environment)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func everyProblemIsReportedAtOnceWithFileLineKeyAndHint() {
        let found = problems("""
            [audio]
            capture_devcie = "hw:1"
            rate = "fast"
            period_ms = 400
            [ptt]
            mode = "hodl"
            [backend]
            kind = "openai"
            """)
        #expect(found.count == 5)
        let byKey = Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let typo = byKey["audio.capture_devcie"]
        #expect(typo?.kind == .unknownKey)
        #expect(typo?.source == .file(path: dir.path + "/parley.toml", line: 2))
        #expect(typo?.hint == "did you mean audio.capture_device?")
        #expect(byKey["audio.rate"]?.kind == .wrongType)
        #expect(byKey["audio.rate"]?.source == .file(path: dir.path + "/parley.toml", line: 3))
        #expect(byKey["audio.period_ms"]?.kind == .outOfRange)
        #expect(byKey["audio.period_ms"]?.hint == "allowed: 5…40")
        #expect(byKey["ptt.mode"]?.kind == .outOfRange)
        #expect(byKey["ptt.mode"]?.hint.hasPrefix("did you mean \"hold\"?") == true)
        let missing = byKey["backend.openai.api_key_file"]
        #expect(missing?.kind == .missing)
        #expect(missing?.message.contains("backend.openai.api_key_credential") == true)
        #expect(missing?.source == .file(path: dir.path + "/parley.toml", line: 8))
    }

    @Test func syntaxErrorsNameTheLine() {
        let found = problems("[audio]\nrate = \n")
        #expect(found.count == 1)
        #expect(found[0].kind == .syntax)
        #expect(found[0].source == .file(path: dir.path + "/parley.toml", line: 2))
    }

    @Test func unknownTablesAndValuesWhereTablesBelong() {
        let found = problems("[audoi]\nrate = 1\n[board]\nleds = 3\n")
        #expect(found.map(\.kind) == [.unknownKey, .unknownKey])
        #expect(found.contains { $0.key == "audoi.rate" && $0.hint == "did you mean audio.rate?" })
        #expect(found.contains { $0.key == "board.leds" && $0.message.contains("is a table") })
    }

    @Test func namedTableMissingItsRequiredKey() {
        let found = problems("[board.leds.rec]\nactive_low = true\n")
        #expect(found.count == 1)
        #expect(found[0].kind == .missing)
        #expect(found[0].key == "board.leds.rec.line")
    }

    @Test func inlineSecretsAreRefusedWithoutEchoingThem() {
        let secret = "sk-live-4f9a8b7c6d5e4f3a2b1c"
        let found = problems("[backend.openai]\napi_key = \"\(secret)\"\n",
                             environment: ["PARLEY_BACKEND__AGENT_C__TOKEN": secret])
        #expect(found.count == 2)
        #expect(found.allSatisfy { $0.kind == .unknownKey && $0.message == "secrets are not accepted inline" })
        #expect(found.contains { $0.hint.contains("backend.openai.api_key_file") })
        #expect(!ConfigError(problems: found).description.contains(secret))
    }

    @Test func environmentProblemsNameTheVariable() {
        let found = problems("", environment: ["PARLEY_AUDIO__RATE": "lots", "PARLEY_AUDIO__RAET": "1"])
        #expect(found.count == 2)
        #expect(found.contains { $0.kind == .wrongType && $0.source == .environment(name: "PARLEY_AUDIO__RATE") })
        #expect(found.contains { $0.kind == .unknownKey && $0.hint == "did you mean audio.rate?" })
    }

    @Test func crossKeyRules() {
        #expect(problems("[audio]\nmic_channel = 1\n").map(\.key) == ["audio.mic_channel"])
        #expect(problems("[audio]\nmic_channel = 1\ncapture_channels = 2\n").isEmpty)
        #expect(problems("[control]\nmode = \"0999\"\n").map(\.kind) == [.outOfRange])
        let both = problems("""
            [backend]
            kind = "openai"
            [backend.openai]
            api_key_file = "/nonexistent"
            api_key_credential = "openai"
            """)
        #expect(both.contains { $0.message.contains("are both set") })
    }

    @Test func exitCodeIsEXCONFIG() {
        #expect(ConfigError.exitCode == 78)
    }

    @Test func referenceDocumentsEveryKey() {
        let reference = ConfigReport.reference()
        for key in ConfigSchema.parley.keys {
            #expect(reference.contains("`\(key.path)`"), "\(key.path) missing from the reference")
        }
    }

    @Test func functionTablesAreCheckedForNameSchemaURLAndClashes() {
        let found = problems("""
            [tools.http.work_orders]
            description = "Open work orders"
            url = "https://office.local/tools/work_orders"
            parameters = '{"type":"object","properties":{"status":{"type":"string"}}}'

            [tools.http.set_volume]
            description = "shadows a built-in"
            url = "ftp://x"
            parameters = '{"type":'

            [tools.http.lookup]
            url = "http://127.0.0.1:9/x"
            """)
        #expect(found.contains { $0.key == "tools.http.set_volume" && $0.message.contains("built-in") })
        #expect(found.contains { $0.key == "tools.http.set_volume.url" && $0.message == "ftp:// is not a scheme this endpoint speaks" })
        #expect(found.contains { $0.key == "tools.http.set_volume.parameters" && $0.message.contains("not a JSON object") })
        #expect(found.contains { $0.key == "tools.http.lookup.description" && $0.message.contains("has no") })
        #expect(!found.contains { $0.key.hasPrefix("tools.http.work_orders") })
        #expect(found.count == 4)
    }

    /// Regression: these passed check-config, then the daemon retried "invalid URL" forever.
    @Test func everyEndpointIsAURLWithASchemeItSpeaks() {
        let cases: [(String, String, String)] = [
            ("backend.openai.url", "htp:/x y", "is not a URL: it has no scheme:// in front"),
            ("backend.openai.url", "https//api.openai.com", "is not a URL: it has no scheme:// in front"),
            ("backend.openai.url", "wss://api.openai.com/v1/real time", "is not a URL: it contains a space"),
            ("backend.openai.url", "https://api.openai.com/v1/realtime", "https:// is not a scheme this endpoint speaks"),
            ("backend.openai.url", "wss://:443/v1", "is not a URL: it has no host name"),
            ("backend.openai.url", "wss://api.openai.com:99999/v1", "is not a URL: it has a port that is not 1…65535"),
            ("backend.openai.url", "wss://me:pw@api.openai.com/v1", "is not a URL: it carries a user name or password"),
            ("backend.agent_c.url", "agents.example.com", "is not a URL: it has no scheme:// in front"),
            ("backend.rt_relay.base_url", "ftp://rt.example.com", "ftp:// is not a scheme this endpoint speaks"),
            ("transcripts.url", "not a url", "is not a URL: it has no scheme:// in front"),
        ]
        for (key, value, message) in cases {
            let parts = key.split(separator: ".")
            let found = problems("[\(parts.dropLast().joined(separator: "."))]\n\(parts.last!) = \"\(value)\"\n")
            #expect(found.contains { $0.key == key && $0.message.contains(message) }, "\(key) = \(value): \(found)")
        }
        for url in ["wss://api.openai.com/v1/realtime", "ws://127.0.0.1:8080/v1", "wss://[::1]:9/x?a=b", "WSS://Example.COM"] {
            #expect(problems("[backend.openai]\nurl = \"\(url)\"\n").isEmpty, "\(url)")
        }
    }

    /// A key or token over http:// or ws:// to another machine needs backend.allow_insecure;
    /// loopback, and endpoints that carry no secret, do not.
    @Test func aSecretInTheClearToAnotherMachineIsRefusedUnlessAllowed() {
        let key = dir.write("openai.key", "sk-test\n", mode: 0o600)
        let plain = problems("""
            [backend]
            kind = "openai"
            [backend.openai]
            url = "ws://relay.lab:8080/v1/realtime"
            api_key_file = "\(key)"
            """)
        #expect(plain.count == 1)
        #expect(plain.first?.key == "backend.openai.url")
        #expect(plain.first?.message == "ws:// would send backend.openai.api_key_file's secret to relay.lab unencrypted")
        #expect(plain.first?.hint.contains("use wss://") == true)
        #expect(problems("""
            [backend]
            kind = "openai"
            allow_insecure = true
            [backend.openai]
            url = "ws://relay.lab:8080/v1/realtime"
            api_key_file = "\(key)"
            """).isEmpty)
        #expect(problems("""
            [backend]
            kind = "openai"
            [backend.openai]
            url = "ws://127.0.0.1:8080/v1/realtime"
            api_key_file = "\(key)"
            """).isEmpty)
        // The office server takes no secret: plain HTTP on the LAN is its seed's way.
        #expect(problems("""
            [backend]
            kind = "office"
            [backend.office]
            base_url = "http://office.local:8000"
            """).isEmpty)
    }
}
