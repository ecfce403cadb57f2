import FoundationEssentials
import ParleyConfig
import ParleyDSP

/// The sound of each cue at 24 kHz, rendered once at start (and on reload) so playing a
/// cue is a ring push. Built in: short rising figures mean "go", falling ones "stopped"
/// or "trouble". A board profile may name a WAV file per cue, or switch a cue off.
public struct CueSounds: Sendable {
    private var sounds: [Cue: [Int16]] = [:]
    /// Longest WAV cue accepted (the engine's cue ring holds 2 s): a cue that talks over
    /// the assistant is not a cue.
    public static let maximumSeconds = 2

    /// A cue's WAV file that cannot be used; names the key, the file and what to do.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Built-in sounds for every cue.
    public init(enabled: Bool, volumePercent: Int) {
        try! self.init(enabled: enabled, volumePercent: volumePercent, sources: [:])  // built-ins cannot fail
    }

    /// `sources`: cue name → "builtin", "off" or a WAV path (missing names: built in).
    public init(enabled: Bool, volumePercent: Int, sources: [String: String]) throws(LoadError) {
        guard enabled, volumePercent > 0 else { return }
        let gain = Double(volumePercent) / 100
        for cue in Cue.allCases {
            switch sources[cue.rawValue] ?? "builtin" {
            case "off":
                continue
            case "builtin":
                sounds[cue] = Earcon.render(Self.tones(cue), rate: 24_000, amplitude: 0.5 * gain)
            case let path:
                sounds[cue] = try Self.load(path, key: "board.cues.\(cue.rawValue)").map {
                    Int16(clamping: Int((Double($0) * gain).rounded()))
                }
            }
        }
    }

    public init(_ board: BoardSettings) throws(LoadError) {
        try self.init(enabled: board.cuesEnabled, volumePercent: board.cueVolumePercent, sources: board.cueSources)
    }

    /// Empty when the cue is off.
    public func samples(_ cue: Cue) -> [Int16] { sounds[cue] ?? [] }

    static func load(_ path: String, key: String) throws(LoadError) -> [Int16] {
        func fail(_ why: String) -> LoadError {
            LoadError(description: "\(key) = \"\(path)\": \(why) (use a 16-bit PCM WAV file, \"builtin\" or \"off\")")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail(FileManager.default.fileExists(atPath: path) ? "cannot read the file (permissions?)" : "no such file")
        }
        let wav: WAVFile
        do { wav = try WAVFile(bytes: [UInt8](data)) } catch { throw fail(error.description) }
        guard wav.samples.count <= wav.rate * maximumSeconds else {
            throw fail("\(wav.samples.count / wav.rate) s long; a cue may last at most \(maximumSeconds) s")
        }
        return wav.resampled(to: 24_000)
    }

    static func tones(_ cue: Cue) -> [Tone] {
        switch cue {
        case .ready: [Tone(523, milliseconds: 70), Tone(659, milliseconds: 70), Tone(784, milliseconds: 110)]
        case .listening: [Tone(880, milliseconds: 60)]
        case .listeningEnd: [Tone(660, milliseconds: 60)]
        case .tooShort: [Tone(440, milliseconds: 60), Tone(0, milliseconds: 50), Tone(440, milliseconds: 60)]
        case .cancelled: [Tone(587, milliseconds: 70), Tone(440, milliseconds: 70), Tone(330, milliseconds: 90)]
        case .error: [Tone(330, milliseconds: 150), Tone(247, milliseconds: 250)]
        case .offline: [Tone(392, milliseconds: 100), Tone(262, milliseconds: 160)]
        case .online: [Tone(392, milliseconds: 100), Tone(523, milliseconds: 160)]
        }
    }
}
