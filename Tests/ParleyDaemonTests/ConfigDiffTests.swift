import ParleyConfig
import Testing
@testable import ParleyDaemon

@Suite struct ConfigDiffTests {
    func effective(_ environment: [String: String]) throws -> EffectiveConfig {
        try LoadedConfig.load(paths: ConfigPaths(mainFile: "/nonexistent/parley.toml", dropInDirectory: "/nonexistent/conf.d",
                                                 mainFileRequired: false),
                              environment: environment, machineIDPath: "/nonexistent").effective
    }

    @Test func liveKeysAreAppliedOthersWaitForRestart() throws {
        let old = try effective([:])
        let new = try effective(["PARLEY_LOGGING__LEVEL": "debug", "PARLEY_PTT__MODE": "toggle",
                                 "PARLEY_AUDIO__RATE": "16000", "PARLEY_AUDIO__VOLUME": "20"])
        let diff = ConfigDiff.between(old, new)
        #expect(diff.live == ["audio.volume", "logging.level", "ptt.mode"])
        #expect(diff.restart == ["audio.rate"])
        #expect(ConfigDiff.between(old, old) == ConfigDiff())
    }
}
