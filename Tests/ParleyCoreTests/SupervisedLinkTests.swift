import Logging
import Synchronization
import Testing
@testable import ParleyTransport

/// The one reconnect loop, driven with a fake connector (no network): what it reports and how
/// long it waits between dials.
@Suite struct SupervisedLinkTests {
    /// Each dial takes the next scripted end; `ready` marks a dial whose session came up.
    actor FakeLink: SupervisedLink {
        var supervisor: LinkSupervisor
        var backoff: Task<Void, Never>?
        let logger = Logger(label: "test")
        private var script: [(ready: Bool, end: LinkEnd)]
        private(set) var reported: [BackendEvent] = []
        private(set) var dials: [ContinuousClock.Instant] = []
        let done: AsyncStream<Void>.Continuation

        init(policy: RetryPolicy, script: [(ready: Bool, end: LinkEnd)], done: AsyncStream<Void>.Continuation) {
            supervisor = LinkSupervisor(name: "fake", policy: policy)
            self.script = script
            self.done = done
        }

        func report(_ event: BackendEvent) { reported.append(event) }

        func connectOnce() async -> LinkEnd {
            dials.append(.now)
            guard !script.isEmpty else {
                done.yield()
                try? await Task.sleep(for: .seconds(60))  // until cancelled
                return .stopped
            }
            let (ready, end) = script.removeFirst()
            if ready { linkReady() }
            return end
        }
    }

    @Test func dialsWaitsAndReportsAsThePolicySays() async throws {
        let (done, signal) = AsyncStream.makeStream(of: Void.self)
        let refused = LinkEnd.failed(BackendError(.connection, "Connection refused"))
        let link = FakeLink(policy: RetryPolicy(initialMilliseconds: 40, maximumMilliseconds: 160, jitter: 0),
                            script: [(false, refused), (false, refused), (true, .peerClosed("socket closed with 1000")),
                                     (false, .operatorReconnect)],
                            done: signal)
        let running = Task { await link.superviseLink() }
        for await _ in done { break }
        running.cancel()
        await running.value
        let reported = await link.reported
        let links = reported.compactMap { if case .link(let state) = $0 { state } else { nil } }
        #expect(links == [.connecting, .error, .connected, .connecting, .offline])
        let errors = reported.filter { if case .error = $0 { true } else { false } }
        #expect(errors.count == 2)  // both refusals counted, one line logged
        let dials = await link.dials
        #expect(dials.count == 5)
        let gaps = zip(dials.dropFirst(), dials).map { ($0 - $1) / .milliseconds(1) }
        #expect(gaps[0] >= 40 && gaps[1] >= 80)  // 40 ms, then doubled
        #expect(gaps[2] >= 40)  // the backoff started over once the session was up
        #expect(gaps[3] < 40)  // the operator's reconnect: at once
    }

    /// Regression: `parleyctl reconnect` during the wait did nothing until it was over.
    @Test func anOperatorReconnectCutsTheWaitBeforeTheNextDialShort() async throws {
        let (done, signal) = AsyncStream.makeStream(of: Void.self)
        let refused = LinkEnd.failed(BackendError(.connection, "Connection refused"))
        let link = FakeLink(policy: RetryPolicy(initialMilliseconds: 60_000, maximumMilliseconds: 60_000, jitter: 0),
                            script: [(false, refused)], done: signal)
        let running = Task { await link.superviseLink() }
        while await link.backoff == nil { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await link.cutBackoff())
        for await _ in done { break }  // the second dial
        let dials = await link.dials
        #expect(dials.count == 2 && dials[1] - dials[0] < .seconds(30))
        #expect(await !link.cutBackoff())  // dialled: nothing to cut, the caller ends the connection
        running.cancel()
        await running.value
    }
}
