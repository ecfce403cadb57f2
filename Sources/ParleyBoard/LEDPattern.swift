import ParleyConfig

/// A way an LED can light, as a brightness over time (pure: the LED driver samples it).
public enum LEDPattern: String, Sendable, CaseIterable {
    case off, on
    /// 1 Hz, half on.
    case blinkSlow = "blink_slow"
    /// 4 Hz, half on.
    case blinkFast = "blink_fast"
    /// Two short flashes every 1.2 s, like the kernel's heartbeat trigger.
    case heartbeat
    /// Brightness breathing up and down over 2 s (software PWM).
    case pulse

    /// Brightness 0…1 at `milliseconds` since the pattern started.
    public func level(at milliseconds: Int) -> Double {
        switch self {
        case .off: return 0
        case .on: return 1
        case .blinkSlow: return milliseconds % 1000 < 500 ? 1 : 0
        case .blinkFast: return milliseconds % 250 < 125 ? 1 : 0
        case .heartbeat:
            let t = milliseconds % 1200
            return t < 100 || (250..<350).contains(t) ? 1 : 0
        case .pulse:
            // A triangle squared: perceived brightness rises evenly (rough gamma).
            let t = Double(milliseconds % 2000) / 1000
            let triangle = t < 1 ? t : 2 - t
            return triangle * triangle
        }
    }

    /// Whether the level takes values between 0 and 1 (needs PWM) rather than on/off.
    public var isDimmed: Bool { self == .pulse }

    /// For on/off patterns: milliseconds from `milliseconds` until the level changes
    /// (nil: never), so the driver sleeps instead of polling.
    public func nextChange(after milliseconds: Int) -> Int? {
        switch self {
        case .off, .on: return nil
        case .pulse: return 10
        case .blinkSlow: return 500 - milliseconds % 500
        case .blinkFast: return 125 - milliseconds % 125
        case .heartbeat:
            let t = milliseconds % 1200
            let edges = [100, 250, 350, 1200]
            return edges.first { $0 > t }! - t
        }
    }
}

/// Each LED's pattern for each device state: the board profile, resolved.
public struct LEDProfile: Sendable, Equatable {
    public struct LED: Sendable, Equatable {
        public var name: String
        public var patterns: [Indicator: LEDPattern]

        public init(name: String, patterns: [Indicator: LEDPattern]) {
            self.name = name
            self.patterns = patterns
        }

        public func pattern(for indicator: Indicator) -> LEDPattern { patterns[indicator] ?? .off }
    }

    public var leds: [LED]

    public init(leds: [LED]) { self.leds = leds }

    /// From `[board.leds.<name>]` tables (unknown words were refused by validation). An
    /// LED that names no state is a status LED with the documented defaults.
    public init(patterns: [(name: String, states: [String: String])]) {
        leds = patterns.map { led in
            let states = led.states.isEmpty
                ? Dictionary(uniqueKeysWithValues: ConfigSchema.ledDefaults.map { ($0.state, $0.pattern) }) : led.states
            return LED(name: led.name, patterns: Dictionary(uniqueKeysWithValues: Indicator.allCases.map {
                ($0, states[$0.rawValue].flatMap(LEDPattern.init(rawValue:)) ?? .off)
            }))
        }
    }
}
