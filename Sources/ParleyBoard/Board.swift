/// What a button does.
public enum BoardEvent: Sendable, Equatable {
    case pttPressed
    case pttReleased
    /// The button has been held for the long-press time (and is still down).
    case pttLongPressed
}

/// What the LEDs show: one device-level state at a time.
public enum Indicator: String, Sendable, Equatable, CaseIterable {
    case off, offline, connecting, ready, listening, thinking, speaking, error
}

/// Buttons in, LEDs out. Implementations: `SimulatedBoard`; libgpiod lines (board issue).
public protocol Board: Sendable {
    /// Button events, in order, for the life of the board.
    var events: AsyncStream<BoardEvent> { get }
    func show(_ indicator: Indicator) async
    /// How long a hold is a long press (SIGHUP may change it).
    func setLongPress(milliseconds: Int) async
}
