import Foundation
import ParleyConfig
import Testing
@testable import ParleyDaemon

@Suite struct ConfigDiffTests {
    func loaded(_ environment: [String: String]) throws -> LoadedConfig {
        try LoadedConfig.load(paths: ConfigPaths(mainFile: "/nonexistent/parley.toml", dropInDirectory: "/nonexistent/conf.d",
                                                 mainFileRequired: false),
                              environment: environment, machineIDPath: "/nonexistent")
    }

    func effective(_ environment: [String: String]) throws -> EffectiveConfig { try loaded(environment).effective }

    /// Regression: a `board.cues.<cue>` WAV changed by SIGHUP was logged as applied but never
    /// loaded. Every key the schema calls live must reach the settings a reload applies.
    @Test func everyLiveKeyReachesTheAppliedSettings() throws {
        let old = try loaded([:]).settings
        let live = ConfigSchema.parley.keys.filter { $0.reload == .live && !$0.path.contains("<") }
        #expect(live.count >= 10)
        for key in live {
            let name = ConfigLoader.environmentPrefix
                + key.path.uppercased().replacingOccurrences(of: ".", with: ConfigLoader.environmentSeparator)
            let example = key.example.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let new = try loaded([name: example]).settings
            let applied = ConfigReloader.applyingLiveKeys(of: new, to: old)
            let changed = "\(applied)" != "\(old)"
            #expect(changed, "\(key.path) is live but a reload does not apply it")
        }
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
