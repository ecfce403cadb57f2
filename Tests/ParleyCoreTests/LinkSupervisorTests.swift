import Logging
import Testing
@testable import ParleyTransport

/// The one reconnect loop's rules, as a spec: states, waits, and what is logged.
@Suite struct LinkSupervisorTests {
    let t0 = ContinuousClock.now
    let openai = RetryPolicy(initialMilliseconds: 500, maximumMilliseconds: 30000)
    /// Seed 004's client: 5 tries from 1 s doubling, then the slow pace.
    let agentC = RetryPolicy(initialMilliseconds: 1000, maximumMilliseconds: 30000, doublingTries: 5, jitter: 0)

    func logs(_ outputs: [LinkSupervisor.Output], at level: Logger.Level? = nil) -> [String] {
        outputs.compactMap {
            if case .log(let l, let message) = $0, level == nil || l == level { message } else { nil }
        }
    }

    func waits(_ outputs: [LinkSupervisor.Output]) -> [Int] {
        outputs.compactMap { if case .wait(let ms) = $0 { ms } else { nil } }
    }

    @Test func backoffPoliciesAreData() {
        #expect((1...8).map { openai.wait(afterFailures: $0, auth: false) } == [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000])
        #expect((1...7).map { agentC.wait(afterFailures: $0, auth: false) } == [1000, 2000, 4000, 8000, 16000, 30000, 30000])
        #expect(openai.wait(afterFailures: 1, auth: true) == 30000)  // a refused key: the slow pace at once
        #expect(openai.jittered(1000, random: 1) == 1200 && openai.jittered(1000, random: -1) == 800)
        #expect(openai.wait(afterFailures: 200, auth: false) == 30000)  // no overflow
    }

    @Test func firstDialIsConnectingAndReadyIsConnected() {
        var s = LinkSupervisor(name: "openai", policy: openai)
        #expect(s.dial() == [.link(.connecting)])
        #expect(s.ready(at: t0) == [.link(.connected)])
    }

    @Test func anOutageIsOneLineAtItsStartAndOneAtItsEndAndTheErrorStaysWhileRedialling() {
        var s = LinkSupervisor(name: "openai", policy: openai)
        _ = s.dial()
        let refused = BackendError(.connection, "Connection refused")
        let first = s.ended(.failed(refused), at: t0, random: 0)
        #expect(logs(first, at: .error) == ["openai: Connection refused; retrying in 500 ms, backing off to 30000 ms"])
        #expect(first.contains(.link(.error)) && first.contains(.error(BackendError(.connection, "openai: Connection refused", logged: true))))
        #expect(waits(first) == [500])
        for n in 2...4 {
            #expect(s.dial() == [])  // still the error, not "connecting"
            let again = s.ended(.failed(refused), at: t0 + .seconds(n), random: 0)
            #expect(logs(again, at: .error).isEmpty && logs(again, at: .debug).count == 1)
            #expect(waits(again) == [500 << (n - 1)])
            #expect(!again.contains(.link(.error)))  // unchanged: not reported again
        }
        #expect(s.dial() == [])
        let back = s.ready(at: t0 + .milliseconds(12300))
        #expect(logs(back, at: .notice) == ["openai: connected again after 12.3 s (4 failed tries)"])
        #expect(back.contains(.link(.connected)))
        #expect(s.failures == 0 && s.outage == nil)
    }

    @Test func aRefusedKeyRetriesAtTheSlowestPace() {
        var s = LinkSupervisor(name: "openai", policy: openai)
        _ = s.dial()
        let out = s.ended(.failed(BackendError(.auth, "HTTP 401 invalid_api_key")), at: t0, random: 0)
        #expect(waits(out) == [30000])
        #expect(logs(out, at: .error) == ["openai: HTTP 401 invalid_api_key; retrying every 30000 ms"])
    }

    @Test func theBackoffStartsOverOnceASessionWasUp() {
        var s = LinkSupervisor(name: "agent_c", policy: agentC)
        for _ in 1...3 {
            _ = s.dial()
            _ = s.ended(.failed(BackendError(.connection, "refused")), at: t0, random: 0)
        }
        _ = s.dial()
        _ = s.ready(at: t0)
        let out = s.ended(.failed(BackendError(.connection, "lost")), at: t0, random: 0)
        #expect(waits(out) == [1000])
    }

    @Test func eachEndIsLoggedAsWhatHappened() {
        func end(_ e: LinkEnd) -> [LinkSupervisor.Output] {
            var s = LinkSupervisor(name: "openai", policy: openai)
            _ = s.dial()
            _ = s.ready(at: t0)
            return s.ended(e, at: t0, random: 0)
        }
        let asked = end(.operatorReconnect)
        #expect(logs(asked) == ["openai: reconnecting as the operator asked"])
        #expect(asked == [.log(.notice, "openai: reconnecting as the operator asked"), .link(.connecting)])  // no wait
        let stall = end(.stalled("the answer stalled: nothing from the server for 15000 ms"))
        #expect(logs(stall, at: .error) == ["openai: the answer stalled: nothing from the server for 15000 ms; retrying in 500 ms, backing off to 30000 ms"])
        #expect(stall.contains(.link(.error)))
        let relay = end(.relayError("the relay reports a WebRTC failure: ICE failed"))
        #expect(logs(relay, at: .error).first?.hasPrefix("openai: the relay reports a WebRTC failure: ICE failed") == true)
        #expect(relay.contains(.link(.error)))
        let closed = end(.peerClosed("socket closed with 1000 (bye)"))
        #expect(logs(closed, at: .notice) == ["openai: socket closed with 1000 (bye); redialling in 500 ms"])
        #expect(closed.contains(.link(.connecting)) && !closed.contains(.link(.error)))
        let renewal = end(.renewal)
        #expect(!renewal.contains { if case .link = $0 { true } else { false } })  // the technician sees nothing
        #expect(end(.stopped) == [.link(.offline)])
    }

    @Test func aRenewalIsQuietUntilItFails() {
        var s = LinkSupervisor(name: "openai", policy: openai)
        _ = s.dial()
        _ = s.ready(at: t0)
        _ = s.ended(.renewal, at: t0, random: 0)
        #expect(s.dial() == [])
        #expect(s.ready(at: t0) == [])  // already connected: nothing to report
        _ = s.ended(.renewal, at: t0, random: 0)
        _ = s.dial()
        let failed = s.ended(.failed(BackendError(.connection, "refused")), at: t0, random: 0)
        #expect(failed.contains(.link(.error)))
        #expect(logs(failed, at: .error) == ["openai: refused (renewing the session); retrying in 500 ms, backing off to 30000 ms"])
    }

    @Test func anOperatorReconnectDuringAnOutageKeepsTheError() {
        var s = LinkSupervisor(name: "openai", policy: openai)
        _ = s.dial()
        _ = s.ended(.failed(BackendError(.connection, "refused")), at: t0, random: 0)
        let asked = s.ended(.operatorReconnect, at: t0, random: 0)
        #expect(!asked.contains(.link(.connecting)) && waits(asked).isEmpty)
        #expect(s.link == .error)
    }
}
