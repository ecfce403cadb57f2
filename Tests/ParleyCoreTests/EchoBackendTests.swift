import ParleyTransport
import Testing

@Suite struct EchoBackendTests {
    @Test func playsBackWhatWasSaid() async throws {
        let echo = EchoBackend(delayMilliseconds: 0)
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
        let echo = EchoBackend(delayMilliseconds: 0)
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
