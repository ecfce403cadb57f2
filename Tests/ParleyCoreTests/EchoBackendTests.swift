import ParleySpeech
import ParleyTransport
import Testing

@Suite struct EchoBackendTests {
    static let voice: @Sendable () throws -> SpeechSynthesizer = { try SpeechSynthesizer(voice: "en-us", wordsPerMinute: 175) }

    /// Events up to the end of the answer.
    static func answer(_ echo: EchoBackend) async -> [BackendEvent] {
        var seen: [BackendEvent] = []
        for await event in echo.events {
            seen.append(event)
            if event == .responseDone { break }
        }
        return seen
    }

    @Test func aTypedTurnIsSpokenBack() async {
        let echo = EchoBackend(delayMilliseconds: 0, voice: Self.voice)
        await echo.send(.text("Check the compressor."))
        let seen = await Self.answer(echo)
        let spoken = seen.reduce(into: [Int16]()) { if case .audio(let s) = $1 { $0 += s } }
        #expect(spoken.count > 24000 / 2, "\(spoken.count) samples")  // more than half a second of speech
        #expect(spoken.contains { abs(Int($0)) > 1000 })
        #expect(seen.first == .transcript(role: .user, text: "Check the compressor."))
        #expect(seen.contains(.transcript(role: .assistant, text: "Check the compressor.")))
    }

    @Test func withoutAVoiceATypedTurnIsShownAndTheReasonGiven() async {
        struct NoVoice: Error, CustomStringConvertible { var description: String { "espeak-ng has no voice \"xx\"" } }
        let echo = EchoBackend(delayMilliseconds: 0, voice: { throw NoVoice() })
        await echo.send(.text("one"))
        let first = await Self.answer(echo)
        #expect(first.contains(.error(BackendError(.server, "echo backend: typed turns are shown, not spoken: espeak-ng has no voice \"xx\""))))
        #expect(first.contains(.transcript(role: .assistant, text: "one")))
        #expect(!first.contains { if case .audio = $0 { true } else { false } })
        await echo.send(.text("two"))
        let second = await Self.answer(echo)
        #expect(!second.contains { if case .error = $0 { true } else { false } })  // said once
    }
    @Test func playsBackWhatWasSaid() async throws {
        let echo = EchoBackend(delayMilliseconds: 0, voice: Self.voice)
        let running = Task { try await echo.run() }
        var events = echo.events.makeAsyncIterator()
        #expect(await events.next() == .link(.connecting))
        #expect(await events.next() == .link(.connected))
        #expect(await events.next() == .session(.creating))
        #expect(await events.next() == .session(.created))

        let said = (0..<6000).map { Int16(truncatingIfNeeded: $0 * 7) }
        await echo.send(.append(Array(said[..<3000])))
        await echo.send(.append(Array(said[3000...])))
        await echo.send(.commit)
        var heard: [Int16] = []
        loop: while let event = await events.next() {
            switch event {
            case .audio(let samples): heard += samples
            case .responseDone: break loop
            default: continue
            }
        }
        #expect(heard == said)
        running.cancel()
        #expect(await events.next() == .session(.terminated))
        #expect(await events.next() == .link(.offline))
    }

    @Test func clearedTurnIsNotPlayed() async {
        let echo = EchoBackend(delayMilliseconds: 0, voice: Self.voice)
        await echo.send(.append([1, 2, 3]))
        await echo.send(.clear)
        await echo.send(.commit)
        var events = echo.events.makeAsyncIterator()
        var heard: [Int16] = []
        loop: while let event = await events.next() {
            if case .audio(let s) = event { heard += s }
            if case .responseDone = event { break loop }
        }
        #expect(heard.isEmpty)
    }
}
