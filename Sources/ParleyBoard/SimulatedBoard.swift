/// A board with no hardware: buttons are pressed by calls (the control socket, tests),
/// LEDs run their patterns in memory for status to read. The offline default and the
/// test double; button timing is the GPIO board's (`ButtonTracker`), without debounce.
public actor SimulatedBoard: Board {
    public nonisolated let events: AsyncStream<BoardEvent>
    private let continuation: AsyncStream<BoardEvent>.Continuation
    public private(set) var indicator: Indicator = .off
    private var tracker: ButtonTracker
    private var timer: Task<Void, Never>?
    private let ledDriver: LEDDriver
    private let start = ContinuousClock.now

    public init(longPressMilliseconds: Int = 3000, leds profile: LEDProfile = LEDProfile(leds: [])) {
        tracker = ButtonTracker(debounceMilliseconds: 0, longPressMilliseconds: longPressMilliseconds)
        ledDriver = LEDDriver(profile: profile, outputs: NoLEDOutputs())
        (events, continuation) = AsyncStream.makeStream(of: BoardEvent.self)
    }

    public nonisolated let summary = "sim"

    public var pttDown: Bool { tracker.isPressed(.ptt) }

    public func press() { set(.ptt, pressed: true) }
    public func release() { set(.ptt, pressed: false) }

    public func set(_ button: Button, pressed: Bool) {
        for event in tracker.edge(button, pressed: pressed, at: now) { continuation.yield(event) }
        schedule()
    }

    public func setLongPress(milliseconds: Int) {
        tracker.longPressMilliseconds = milliseconds
    }

    public func show(_ indicator: Indicator) {
        self.indicator = indicator
        ledDriver.show(indicator)
    }

    public func leds() -> [LEDReading] { ledDriver.readings() }

    public func shutdown() {
        timer?.cancel()
        ledDriver.stop()
        continuation.finish()
    }

    private var now: Int { (ContinuousClock.now - start).wholeMilliseconds }

    /// Wakes for the tracker's next deadline (a long press).
    private func schedule() {
        timer?.cancel()
        guard let deadline = tracker.nextDeadline else { return }
        let wait = max(0, deadline - now)
        timer = Task {
            try? await Task.sleep(for: .milliseconds(wait))
            guard !Task.isCancelled else { return }
            self.tick()
        }
    }

    private func tick() {
        for event in tracker.tick(at: now) { continuation.yield(event) }
        schedule()
    }
}

struct NoLEDOutputs: LEDOutputs {
    func set(_ index: Int, lit: Bool) {}
}
