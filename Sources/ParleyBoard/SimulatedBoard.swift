/// A board with no hardware: buttons are pressed by calls (the control socket, tests),
/// LED state is kept for reading back. The offline default and the test double.
public actor SimulatedBoard: Board {
    public nonisolated let events: AsyncStream<BoardEvent>
    private let continuation: AsyncStream<BoardEvent>.Continuation
    public private(set) var indicator: Indicator = .off
    public private(set) var pttDown = false
    private var longPressMilliseconds: Int
    private var longPressTimer: Task<Void, Never>?

    public init(longPressMilliseconds: Int = 3000) {
        self.longPressMilliseconds = longPressMilliseconds
        (events, continuation) = AsyncStream.makeStream(of: BoardEvent.self)
    }

    public func press() {
        guard !pttDown else { return }
        pttDown = true
        continuation.yield(.pttPressed)
        let wait = longPressMilliseconds
        longPressTimer = Task { [continuation] in
            try? await Task.sleep(for: .milliseconds(wait))
            if !Task.isCancelled { continuation.yield(.pttLongPressed) }
        }
    }

    public func release() {
        guard pttDown else { return }
        pttDown = false
        longPressTimer?.cancel()
        longPressTimer = nil
        continuation.yield(.pttReleased)
    }

    public func setLongPress(milliseconds: Int) {
        longPressMilliseconds = milliseconds
    }

    public func show(_ indicator: Indicator) {
        self.indicator = indicator
    }
}
