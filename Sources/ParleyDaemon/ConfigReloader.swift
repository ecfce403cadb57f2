import Logging
import ParleyConfig
import ServiceLifecycle
import Synchronization

/// Which changed keys a reload can apply, and which wait for a restart.
public struct ConfigDiff: Equatable, Sendable {
    public var live: [String] = []
    public var restart: [String] = []

    public static func between(_ old: EffectiveConfig, _ new: EffectiveConfig) -> ConfigDiff {
        var diff = ConfigDiff()
        for key in Set(old.items.keys).union(new.items.keys).sorted() where old.value(key) != new.value(key) {
            let spec = new.items[key]?.spec ?? old.items[key]?.spec
            if spec?.reload == .live { diff.live.append(key) } else { diff.restart.append(key) }
        }
        return diff
    }
}

/// SIGHUP: re-reads the configuration; a valid one has its live keys applied and its
/// other changes logged as needing a restart; an invalid one is rejected, all of its
/// problems logged, and the running configuration kept.
public final class ConfigReloader: Sendable {
    private let paths: ConfigPaths
    private let environment: [String: String]
    private let current: Mutex<LoadedConfig>
    private let apply: @Sendable (ParleySettings) async -> Void
    private let notifier: SystemdNotifier
    private let logger: Logger

    public init(initial: LoadedConfig, paths: ConfigPaths, environment: [String: String], notifier: SystemdNotifier,
                logger: Logger, apply: @escaping @Sendable (ParleySettings) async -> Void) {
        self.paths = paths
        self.environment = environment
        current = Mutex(initial)
        self.notifier = notifier
        self.logger = logger
        self.apply = apply
    }

    /// The running settings with every key the schema marks `reload: .live` taken from the new
    /// ones (ConfigDiffTests changes each live key and checks it arrives here).
    static func applyingLiveKeys(of new: ParleySettings, to old: ParleySettings) -> ParleySettings {
        var merged = old
        merged.logging.level = new.logging.level
        merged.audio.volumePercent = new.audio.volumePercent
        merged.audio.micGainDecibels = new.audio.micGainDecibels
        merged.ptt = new.ptt
        merged.board.cuesEnabled = new.board.cuesEnabled
        merged.board.cueVolumePercent = new.board.cueVolumePercent
        merged.board.cueSources = new.board.cueSources
        return merged
    }

    /// The configuration in force.
    var running: LoadedConfig { current.withLock { $0 } }

    @discardableResult
    public func reload(because why: String = "SIGHUP") async -> ConfigDiff? {
        notifier.reloading()
        defer { notifier.ready() }
        logger.notice("\(why): reloading configuration")
        let loaded: LoadedConfig
        do {
            loaded = try LoadedConfig.load(paths: paths, environment: environment)
        } catch {
            logger.error("reload rejected, keeping the running configuration: \(error)")
            return nil
        }
        let old = current.withLock { $0 }
        let diff = ConfigDiff.between(old.effective, loaded.effective)
        await apply(Self.applyingLiveKeys(of: loaded.settings, to: old.settings))
        current.withLock { $0 = loaded }
        if diff.live.isEmpty && diff.restart.isEmpty {
            logger.notice("reload: no changes")
        }
        if !diff.live.isEmpty { logger.notice("reload applied: \(diff.live.joined(separator: ", "))") }
        if !diff.restart.isEmpty {
            logger.warning("reload: changes that take effect after a restart: \(diff.restart.joined(separator: ", "))")
        }
        return diff
    }
}

