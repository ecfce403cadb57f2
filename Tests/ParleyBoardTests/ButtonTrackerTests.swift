import Foundation
import Testing
@testable import ParleyBoard

@Suite struct ButtonTrackerTests {
    @Test func leadingEdgeIsReportedAtOnceAndBounceIsIgnored() {
        var t = ButtonTracker(debounceMilliseconds: 20, longPressMilliseconds: 3000)
        #expect(t.edge(.ptt, pressed: true, at: 1000) == [.pttPressed])  // no added latency
        // Contact bounce inside the window: nothing.
        #expect(t.edge(.ptt, pressed: false, at: 1002) == [])
        #expect(t.edge(.ptt, pressed: true, at: 1004) == [])
        #expect(t.tick(at: 1020) == [])  // settled pressed: nothing new
        #expect(t.isPressed(.ptt))
        #expect(t.edge(.ptt, pressed: false, at: 1500) == [.pttReleased])
    }

    @Test func aReleaseInsideTheWindowIsReportedWhenTheWindowCloses() {
        var t = ButtonTracker(debounceMilliseconds: 20, longPressMilliseconds: 3000)
        _ = t.edge(.ptt, pressed: true, at: 0)
        #expect(t.edge(.ptt, pressed: false, at: 10) == [])  // a real, very short tap
        #expect(t.nextDeadline == 20)
        #expect(t.tick(at: 19) == [])
        #expect(t.tick(at: 20) == [.pttReleased])
        #expect(!t.isPressed(.ptt))
    }

    @Test func longPressFiresOnceWhileHeldAndNotAfterRelease() {
        var t = ButtonTracker(debounceMilliseconds: 0, longPressMilliseconds: 3000)
        _ = t.edge(.ptt, pressed: true, at: 0)
        #expect(t.nextDeadline == 3000)
        #expect(t.tick(at: 2999) == [])
        #expect(t.tick(at: 3000) == [.pttLongPressed])
        #expect(t.tick(at: 6000) == [])
        #expect(t.edge(.ptt, pressed: false, at: 6100) == [.pttReleased])
        _ = t.edge(.ptt, pressed: true, at: 7000)
        _ = t.edge(.ptt, pressed: false, at: 7500)
        #expect(t.nextDeadline == nil)
        #expect(t.tick(at: 10_000) == [])
    }

    @Test func otherButtonsActOnPressOnly() {
        var t = ButtonTracker(debounceMilliseconds: 20, longPressMilliseconds: 3000)
        #expect(t.edge(.volumeUp, pressed: true, at: 0) == [.volumeUp])
        #expect(t.edge(.volumeUp, pressed: false, at: 100) == [])
        #expect(t.edge(.volumeDown, pressed: true, at: 100) == [.volumeDown])
        #expect(t.edge(.cancel, pressed: true, at: 100) == [.cancel])
        // Buttons debounce independently.
        #expect(t.edge(.volumeUp, pressed: true, at: 105) == [])
        #expect(t.tick(at: 120) == [.volumeUp])
    }
}

@Suite struct LEDPatternTests {
    @Test func blinkAndHeartbeatLevels() {
        #expect(LEDPattern.blinkSlow.level(at: 0) == 1)
        #expect(LEDPattern.blinkSlow.level(at: 499) == 1)
        #expect(LEDPattern.blinkSlow.level(at: 500) == 0)
        #expect(LEDPattern.blinkFast.level(at: 130) == 0)
        #expect(LEDPattern.heartbeat.level(at: 50) == 1)
        #expect(LEDPattern.heartbeat.level(at: 200) == 0)
        #expect(LEDPattern.heartbeat.level(at: 300) == 1)
        #expect(LEDPattern.heartbeat.level(at: 800) == 0)
    }

    @Test func nextChangeLandsOnTheNextEdge() {
        for pattern in [LEDPattern.blinkSlow, .blinkFast, .heartbeat] {
            for t in stride(from: 0, to: 2400, by: 7) {
                let next = pattern.nextChange(after: t)!
                #expect(next > 0)
                // Constant until the change...
                #expect(pattern.level(at: t + next - 1) == pattern.level(at: t))
                // ...and the edge is real unless the cycle wrapped onto the same level.
                if (t + next) % 1200 != 0 { #expect(pattern.level(at: t + next) != pattern.level(at: t)) }
            }
        }
        #expect(LEDPattern.on.nextChange(after: 5) == nil)
    }

    @Test func pulseBreathesBetweenDarkAndFull() {
        #expect(LEDPattern.pulse.level(at: 0) == 0)
        #expect(LEDPattern.pulse.level(at: 1000) == 1)
        #expect(LEDPattern.pulse.level(at: 500) > 0.2 && LEDPattern.pulse.level(at: 500) < 0.3)
        #expect(LEDPattern.pulse.isDimmed)
    }

    @Test func profileMapsStatesAndUnknownIsOff() {
        let profile = LEDProfile(patterns: [("rec", ["listening": "on", "thinking": "pulse"])])
        #expect(profile.leds[0].pattern(for: .listening) == .on)
        #expect(profile.leds[0].pattern(for: .thinking) == .pulse)
        #expect(profile.leds[0].pattern(for: .ready) == .off)
        let status = LEDProfile(patterns: [("status", [:])])  // names no state: the status-LED defaults
        #expect(status.leds[0].pattern(for: .ready) == .heartbeat)
        #expect(status.leds[0].pattern(for: .thinking) == .pulse)
    }
}

/// The LED thread against recorded outputs: patterns follow `show`, stop turns all off.
@Suite(.serialized) struct LEDDriverTests {
    final class Recorder: LEDOutputs, @unchecked Sendable {
        private let lock = NSLock()
        private var levels: [Bool]
        private(set) var changes = 0
        init(_ count: Int) { levels = Array(repeating: false, count: count) }
        func set(_ index: Int, lit: Bool) { lock.withLock { levels[index] = lit; changes += 1 } }
        var snapshot: ([Bool], Int) { lock.withLock { (levels, changes) } }
    }

    @Test func driverFollowsStatesAndStopsDark() async throws {
        let profile = LEDProfile(patterns: [("green", ["ready": "on", "thinking": "pulse"]), ("red", ["error": "blink_fast"])])
        let out = Recorder(2)
        let driver = LEDDriver(profile: profile, outputs: out)
        driver.show(.ready)
        try await Task.sleep(for: .milliseconds(50))
        #expect(out.snapshot.0 == [true, false])
        #expect(driver.readings().map(\.pattern) == [.on, .off])
        driver.show(.error)
        try await Task.sleep(for: .milliseconds(600))
        let blinks = out.snapshot.1
        #expect(out.snapshot.0[0] == false)
        driver.show(.thinking)  // PWM: many switches per second while it shows
        try await Task.sleep(for: .milliseconds(500))
        #expect(out.snapshot.1 - blinks > 40)
        driver.stop()
        #expect(out.snapshot.0 == [false, false])
        #expect(driver.readings().allSatisfy { !$0.lit })
    }
}
