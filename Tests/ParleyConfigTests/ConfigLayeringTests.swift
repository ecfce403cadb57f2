import Testing
@testable import ParleyConfig

@Suite struct ConfigLayeringTests {
    let dir = TestDirectory()

    func load(_ environment: [String: String] = [:]) throws -> LoadedConfig {
        try LoadedConfig.load(
            paths: ConfigPaths(mainFile: dir.paths.main, dropInDirectory: dir.paths.dropIns, mainFileRequired: true),
            environment: environment, machineIDPath: dir.path + "/machine-id")
    }

    @Test func laterLayersWinAndEveryValueKnowsItsSource() throws {
        dir.write("parley.toml", """
            # base config for the fleet
            [audio]
            rate = 16000
            capture_device = "hw:CARD=base"

            [ptt]
            mode = "toggle"
            """)
        dir.write("conf.d/20-site.toml", "[audio]\nrate = 44100\n")
        dir.write("conf.d/10-board.toml", "[audio]\nrate = 48000\nvolume = 40\n")
        dir.write("conf.d/notes.txt", "[audio]\nrate = 8000\n")  // not a .toml: ignored
        let config = try load(["PARLEY_AUDIO__VOLUME": "55"])

        #expect(config.settings.audio.rate == 44100)  // 20-site after 10-board after the main file
        #expect(config.effective.items["audio.rate"]?.source == .file(path: dir.paths.dropIns + "/20-site.toml", line: 2))
        #expect(config.settings.audio.captureDevice == "hw:CARD=base")
        #expect(config.effective.items["audio.capture_device"]?.source == .file(path: dir.paths.main, line: 4))
        #expect(config.settings.audio.volumePercent == 55)
        #expect(config.effective.items["audio.volume"]?.source == .environment(name: "PARLEY_AUDIO__VOLUME"))
        #expect(config.settings.ptt.mode == .toggle)
        #expect(config.effective.items["ptt.mode"]?.source == .file(path: dir.paths.main, line: 7))
        #expect(config.settings.audio.periodMilliseconds == 10)
        #expect(config.effective.items["audio.period_ms"]?.source == .builtIn)
        #expect(config.effective.files == [dir.paths.main, dir.paths.dropIns + "/10-board.toml",
                                           dir.paths.dropIns + "/20-site.toml"])
    }

    @Test func deviceIDDefaultsToMachineID() throws {
        dir.write("parley.toml", "")
        dir.write("machine-id", "0123456789abcdef\n")
        #expect(try load().settings.device.id == "0123456789abcdef")
        dir.write("parley.toml", "[device]\nid = \"van-7\"\n")
        #expect(try load().settings.device.id == "van-7")
    }

    /// Regression: backend.training.user_id was read but never used, so a user following
    /// docs/CONFIG.md got 403 on every transcript (the JWT's user did not match).
    @Test func transcriptsCarryTheTrainingUserUnlessTheirOwnIsSet() throws {
        dir.write("parley.toml", "[device]\ntechnician_id = \"tech-9\"\n")
        #expect(try load().settings.transcripts.userID == "tech-9")
        dir.write("parley.toml", "[device]\ntechnician_id = \"tech-9\"\n[backend.training]\nuser_id = \"T-1184\"\n")
        #expect(try load().settings.transcripts.userID == "T-1184")
        dir.write("parley.toml", "[backend.training]\nuser_id = \"T-1184\"\n[transcripts]\nuser_id = \"T-2\"\n")
        #expect(try load().settings.transcripts.userID == "T-2")
    }

    @Test func environmentValuesAreTypedBySchema() throws {
        dir.write("parley.toml", "")
        let config = try load([
            "PARLEY_AUDIO__MIC_MIX": "yes", "PARLEY_AUDIO__CAPTURE_CHANNELS": "2",
            "PARLEY_AUDIO__MIC_GAIN_DB": "6.5", "PARLEY_BOARD__LEDS__REC__LINE": "led_rec",
            "PARLEY_SIM_MIC": "/not/config",  // no "__": not a config override
        ])
        #expect(config.settings.audio.micMix)
        #expect(config.settings.audio.captureChannels == 2)
        #expect(config.settings.audio.micGainDecibels == 6.5)
        #expect(config.settings.board.leds == [.init(name: "rec", line: "led_rec", activeLow: false)])
    }

    @Test func namedTablesFromSeveralFilesMerge() throws {
        dir.write("parley.toml", "[board.leds.rec]\nline = \"led_rec\"\n[board.leds.err]\nline = \"led_err\"\n")
        dir.write("conf.d/50-wiring.toml", "[board.leds.err]\nactive_low = true\n")
        let leds = try load().settings.board.leds
        #expect(leds == [.init(name: "err", line: "led_err", activeLow: true),
                         .init(name: "rec", line: "led_rec", activeLow: false)])
    }

    @Test func functionsComeFromNamedTables() throws {
        dir.write("parley.toml", """
            [tools.http.work_orders]
            description = "Open work orders"
            url = "https://office.local/tools/work_orders"
            """)
        let tools = try load().settings.tools
        #expect(tools.builtins)
        #expect(tools.http == [.init(name: "work_orders", description: "Open work orders",
                                     parameters: #"{"type":"object","properties":{}}"#,
                                     url: "https://office.local/tools/work_orders", timeoutMilliseconds: 5000)])
    }

    @Test func missingSystemConfigMeansDefaults() throws {
        let config = try LoadedConfig.load(
            paths: ConfigPaths(mainFile: dir.path + "/absent.toml", dropInDirectory: dir.path + "/absent.d",
                               mainFileRequired: false),
            environment: [:])
        #expect(config.settings.backend.kind == .echo)
        #expect(config.effective.files.isEmpty)
    }

    @Test func namedMainFileMustExist() {
        let error = #expect(throws: ConfigError.self) { try load() }
        #expect(error?.problems.first?.kind == .unreadable)
        #expect(error?.problems.first?.description.contains(dir.paths.main) == true)
    }

    @Test func keyLocatorFollowsTOMLStructure() {
        let text = """
            title = "x"
            [audio]  # comment
            notes = \"\"\"
            rate = 1
            \"\"\"
            list = [
              "a", "b]",
            ]
            rate = 16000
            "quoted key" = 1
            a.b = 2
            inline = { x = 1 }
            [[arr]]
            y = 1
            """
        let locator = TOMLKeyLocator(text: text)
        #expect(locator.line(of: "title") == 1)
        #expect(locator.line(of: "audio") == 2)
        #expect(locator.line(of: "audio.notes") == 3)
        #expect(locator.line(of: "audio.list") == 6)
        #expect(locator.line(of: "audio.rate") == 9)
        #expect(locator.line(of: "audio.quoted key") == 10)
        #expect(locator.line(of: "audio.a.b") == 11)
        #expect(locator.line(of: "audio.inline.x") == 12)
        #expect(locator.line(of: "arr.y") == 14)
    }
}
