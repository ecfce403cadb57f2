/// A board with no hardware: buttons are pressed by calls (the control socket, tests),
/// LED state is kept for reading back. The offline default and the test double.
public actor SimulatedBoard: Board {
    public nonisolated let events: AsyncStream<BoardEvent>
    private let continuation: AsyncStream<BoardEvent>.Continuation
    public private(set) var indicator: Indicator = .off
    public private(set) var pttDown = false

    public init() {
        (events, continuation) = AsyncStream.makeStream(of: BoardEvent.self)
    }

    public func press() {
        guard !pttDown else { return }
        pttDown = true
        continuation.yield(.pttPressed)
    }

    public func release() {
        guard pttDown else { return }
        pttDown = false
        continuation.yield(.pttReleased)
    }

    public func show(_ indicator: Indicator) {
        self.indicator = indicator
    }
}
