import ParleySpeech

/// The built-in offline backend: after a turn ends it plays back what was said, and a typed
/// turn (`parleyctl say`) is spoken back with the text backends' voice (espeak-ng). A field
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
    /// Made at the first typed turn (libespeak-ng's data is not loaded for a device that
    /// never gets one); nil when it cannot be.
    private let makeVoice: @Sendable () throws -> SpeechSynthesizer
    private var voice: Result<SpeechSynthesizer, any Error>?

    public init(delayMilliseconds: Int, voice: @escaping @Sendable () throws -> SpeechSynthesizer) {
        self.delayMilliseconds = delayMilliseconds
        makeVoice = voice
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
            say(text)
        }
    }

    private func respond(with said: [Int16]) {
        let seconds = Double(said.count) / 24000
        answer(heard: "(\(formatSeconds(seconds)) s of audio)", answer: "(echo of \(formatSeconds(seconds)) s)",
               after: .milliseconds(delayMilliseconds)) { said }
    }

    /// The text back, spoken; shown only (and said once as an error) without a voice.
    private func say(_ text: String) {
        if voice == nil {
            voice = Result { try makeVoice() }
            if case .failure(let error) = voice {
                continuation.yield(.error(BackendError(.server, "echo backend: typed turns are shown, not spoken: \(error)")))
            }
        }
        let synthesizer = try? voice?.get()
        answer(heard: text, answer: text, after: .zero) { await synthesizer?.synthesize(text) ?? [] }
    }

    /// One answer: what was heard, then `audio` streamed in 100 ms chunks at twice real time,
    /// as a server would, then what was answered. A new answer or a cancel stops it.
    private func answer(heard: String, answer: String, after delay: Duration,
                        audio: @escaping @Sendable () async -> [Int16]) {
        response?.cancel()
        let continuation = self.continuation
        response = Task {
            continuation.yield(.transcript(role: .user, text: heard))
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            continuation.yield(.responseStarted)
            let samples = await audio()
            var offset = 0
            while offset < samples.count {
                guard !Task.isCancelled else { return }
                let end = min(samples.count, offset + 2400)
                continuation.yield(.audio(Array(samples[offset..<end])))
                offset = end
                try? await Task.sleep(for: .milliseconds(50))
            }
            continuation.yield(.transcript(role: .assistant, text: answer))
            continuation.yield(.responseDone)
        }
    }
}

func formatSeconds(_ s: Double) -> String {
    let tenths = Int((s * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
