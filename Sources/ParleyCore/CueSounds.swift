import ParleyConfig
import ParleyDSP

/// The sound of each cue at 24 kHz, rendered once at start (and on reload) so playing a
/// cue is a ring push. Short rising figures mean "go", falling ones "stopped" or "trouble".
public struct CueSounds: Sendable {
    private var sounds: [Cue: [Int16]] = [:]

    public init(enabled: Bool, volumePercent: Int) {
        guard enabled, volumePercent > 0 else { return }
        let amplitude = 0.5 * Double(volumePercent) / 100
        for cue in Cue.allCases {
            sounds[cue] = Earcon.render(Self.tones(cue), rate: 24_000, amplitude: amplitude)
        }
    }

    public init(_ board: BoardSettings) {
        self.init(enabled: board.cuesEnabled, volumePercent: board.cueVolumePercent)
    }

    /// Empty when cues are off.
    public func samples(_ cue: Cue) -> [Int16] { sounds[cue] ?? [] }

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
