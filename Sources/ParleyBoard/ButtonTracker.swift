/// Button edges → board events, with leading-edge debounce and long-press timing (pure:
/// times are milliseconds on any monotonic clock the caller owns).
///
/// Leading edge: the first edge that changes a button is reported at once (no added
/// latency on PTT), then the button is ignored for the debounce time; if it settled the
/// other way meanwhile, that is reported when the time is up.
public struct ButtonTracker: Sendable {
    public var debounceMilliseconds: Int
    public var longPressMilliseconds: Int
    private var reported: [Button: Bool] = [:]
    private var raw: [Button: Bool] = [:]
    private var lockedUntil: [Button: Int] = [:]
    private var longPressAt: Int?

    public init(debounceMilliseconds: Int, longPressMilliseconds: Int) {
        self.debounceMilliseconds = debounceMilliseconds
        self.longPressMilliseconds = longPressMilliseconds
    }

    public func isPressed(_ button: Button) -> Bool { reported[button] ?? false }

    /// The button's level changed (true: pressed) at `now`.
    public mutating func edge(_ button: Button, pressed: Bool, at now: Int) -> [BoardEvent] {
        raw[button] = pressed
        if let lock = lockedUntil[button], now < lock { return [] }
        lockedUntil[button] = nil
        return report(button, pressed, at: now)
    }

    /// Time passed: debounce windows closing, a long press completing.
    public mutating func tick(at now: Int) -> [BoardEvent] {
        var events: [BoardEvent] = []
        for (button, lock) in lockedUntil where lock <= now {
            lockedUntil[button] = nil
            if let level = raw[button], level != isPressed(button) {
                events += report(button, level, at: now)
            }
        }
        if let at = longPressAt, at <= now {
            longPressAt = nil
            if isPressed(.ptt) { events.append(.pttLongPressed) }
        }
        return events
    }

    /// When `tick` next has something to do (nil: nothing pending).
    public var nextDeadline: Int? {
        let locks = lockedUntil.values.min()
        switch (locks, longPressAt) {
        case let (a?, b?): return min(a, b)
        case let (a, b): return a ?? b
        }
    }

    private mutating func report(_ button: Button, _ pressed: Bool, at now: Int) -> [BoardEvent] {
        guard pressed != isPressed(button) else { return [] }
        reported[button] = pressed
        if debounceMilliseconds > 0 { lockedUntil[button] = now + debounceMilliseconds }
        switch (button, pressed) {
        case (.ptt, true):
            longPressAt = now + longPressMilliseconds
            return [.pttPressed]
        case (.ptt, false):
            longPressAt = nil
            return [.pttReleased]
        case (.volumeUp, true): return [.volumeUp]
        case (.volumeDown, true): return [.volumeDown]
        case (.cancel, true): return [.cancel]
        case (_, false): return []
        }
    }
}
