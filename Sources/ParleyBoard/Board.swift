/// A physical (or simulated) button.
public enum Button: String, Sendable, CaseIterable {
    case ptt
    case volumeUp = "volume_up"
    case volumeDown = "volume_down"
    case cancel
}

/// What a button does.
public enum BoardEvent: Sendable, Equatable {
    case pttPressed
    case pttReleased
    /// The button has been held for the long-press time (and is still down).
    case pttLongPressed
    case volumeUp
    case volumeDown
    /// Drop the turn being spoken, or stop the answer.
    case cancel
}

/// What the LEDs show: one device-level state at a time.
public enum Indicator: String, Sendable, Equatable, CaseIterable {
    case off, offline, connecting, ready, listening, thinking, speaking, error
}

/// One LED as status reports it: the pattern it runs and whether it is lit right now.
public struct LEDReading: Sendable, Equatable {
    public var name: String
    public var pattern: LEDPattern
    public var lit: Bool
    /// When the device state it shows last changed (CLOCK_MONOTONIC nanoseconds).
    public var sinceNanoseconds: Int

    public init(name: String, pattern: LEDPattern, lit: Bool, sinceNanoseconds: Int) {
        self.name = name
        self.pattern = pattern
        self.lit = lit
        self.sinceNanoseconds = sinceNanoseconds
    }
}

/// Buttons in, LEDs out. Implementations: `SimulatedBoard`, `GPIOBoard` (libgpiod lines).
public protocol Board: Sendable {
    /// Button events, in order, for the life of the board.
    var events: AsyncStream<BoardEvent> { get }
    func show(_ indicator: Indicator) async
    /// How long a hold is a long press (SIGHUP may change it).
    func setLongPress(milliseconds: Int) async
    /// A button pressed or released from elsewhere (the control socket): behaves like the
    /// physical button, long press included.
    func set(_ button: Button, pressed: Bool) async
    /// The LEDs now, for status.
    func leds() async -> [LEDReading]
    /// What the board is and what it claimed ("sim"; "gpio gpiochip0 [pinctrl-rp1]: ptt, …").
    var summary: String { get }
    /// Stops the board's threads and turns the LEDs off.
    func shutdown() async
}

extension Duration {
    /// Whole milliseconds, for the boards' pattern and button clocks.
    var wholeMilliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
