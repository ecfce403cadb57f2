/// The built-in offline backend: after a turn ends it plays back what was said. A field
/// self-test of microphone, speaker and button, and the `make run` default.
public actor EchoBackend: VoiceBackend {
    public nonisolated let name = "echo"
    public nonisolated let events: AsyncStream<BackendEvent>
    private let continuation: AsyncStream<BackendEvent>.Continuation
    private let delayMilliseconds: Int
    /// Longest turn kept: memory stays bounded whatever the button does.
    public static let maximumTurnSamples = 60 * 24000
    private var turn: [Int16] = []
    private var response: Task<Void, Never>?

    public init(delayMilliseconds: Int) {
        self.delayMilliseconds = delayMilliseconds
        (events, continuation) = AsyncStream.makeStream(of: BackendEvent.self)
    }

    public func run() async throws {
        continuation.yield(.link(.connecting))
        continuation.yield(.link(.connected))
        continuation.yield(.session(.creating))
        continuation.yield(.session(.created))
        defer {
            response?.cancel()
            continuation.yield(.session(.terminated))
            continuation.yield(.link(.offline))
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    /// There is no connection to drop: the link goes through the motions the LEDs show.
    public func reconnect() {
        response?.cancel()
        response = nil
        turn.removeAll()
        for event: BackendEvent in [.session(.terminated), .link(.offline), .link(.connecting), .link(.connected),
                                    .session(.creating), .session(.created)] {
            continuation.yield(event)
        }
    }

    public func send(_ command: BackendCommand) {
        switch command {
        case .append(let samples):
            let room = Self.maximumTurnSamples - turn.count
            turn.append(contentsOf: samples.prefix(max(0, room)))
        case .clear:
            turn.removeAll()
        case .commit:
            let said = turn
            turn.removeAll()
            respond(with: said)
        case .cancelResponse:
            response?.cancel()
            response = nil
        case .toolOutput, .handsFree:
            break  // echo offers no functions and answers only committed turns
        case .text(let text):
            continuation.yield(.transcript(role: .user, text: text))
            continuation.yield(.responseStarted)
            continuation.yield(.transcript(role: .assistant, text: text))
            continuation.yield(.responseDone)
        }
    }

    private func respond(with said: [Int16]) {
        response?.cancel()
        let continuation = self.continuation
        let delay = delayMilliseconds
        response = Task {
            let seconds = Double(said.count) / 24000
            continuation.yield(.transcript(role: .user, text: "(\(formatSeconds(seconds)) s of audio)"))
            try? await Task.sleep(for: .milliseconds(delay))
            guard !Task.isCancelled else { return }
            continuation.yield(.responseStarted)
            // Streamed in 100 ms chunks at twice real time, as a server would.
            var offset = 0
            while offset < said.count {
                guard !Task.isCancelled else { return }
                let end = min(said.count, offset + 2400)
                continuation.yield(.audio(Array(said[offset..<end])))
                offset = end
                try? await Task.sleep(for: .milliseconds(50))
            }
            continuation.yield(.transcript(role: .assistant, text: "(echo of \(formatSeconds(seconds)) s)"))
            continuation.yield(.responseDone)
        }
    }
}

func formatSeconds(_ s: Double) -> String {
    let tenths = Int((s * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
