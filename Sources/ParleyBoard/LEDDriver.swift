import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import CGpiod

/// Where LED levels go: GPIO lines, or nowhere (the simulated board only reports them).
public protocol LEDOutputs: Sendable {
    func set(_ index: Int, lit: Bool)
}

/// Plays each LED's pattern for the current device state on a thread of its own — never
/// an audio thread. On/off patterns sleep until their next edge; `pulse` runs software
/// PWM at 100 Hz while it shows, and only then.
public final class LEDDriver: Sendable {
    private struct Shared {
        var indicator: Indicator = .off
        /// When the indicator last changed, on CLOCK_MONOTONIC: the patterns' time origin, and
        /// for status (comparable outside the daemon).
        var sinceNanoseconds = monotonicNanoseconds()
        var lit: [Bool]
        var running = true
    }

    let profile: LEDProfile
    private let outputs: any LEDOutputs
    private let shared: Mutex<Shared>
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    static let pwmPeriodMicroseconds = 10_000
    static let pwmSteps = 20

    public init(profile: LEDProfile, outputs: any LEDOutputs) {
        self.profile = profile
        self.outputs = outputs
        shared = Mutex(Shared(lit: Array(repeating: false, count: profile.leds.count)))
        guard !profile.leds.isEmpty else { stopped.signal(); return }
        for index in profile.leds.indices { outputs.set(index, lit: false) }
        BoardThread.start(name: "parley-leds") { [self] in run() }
    }

    public func show(_ indicator: Indicator) {
        let changed = shared.withLock { state in
            guard state.indicator != indicator else { return false }
            state.indicator = indicator
            state.sinceNanoseconds = monotonicNanoseconds()
            return true
        }
        if changed { wake.signal() }
    }

    public func readings() -> [LEDReading] {
        let (indicator, lit, since) = shared.withLock { ($0.indicator, $0.lit, $0.sinceNanoseconds) }
        return profile.leds.enumerated().map {
            LEDReading(name: $1.name, pattern: $1.pattern(for: indicator), lit: lit[$0], sinceNanoseconds: since)
        }
    }

    /// Writes every LED's current level again (its lines were claimed anew).
    public func reapply() {
        let lit = shared.withLock { $0.lit }
        for (index, on) in lit.enumerated() { outputs.set(index, lit: on) }
    }

    /// Stops the thread (within one pattern step) and turns every LED off.
    public func stop() {
        let wasRunning = shared.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning else { return }
        wake.signal()
        _ = stopped.wait(timeout: .now() + .seconds(1))
    }

    private func run() {
        defer {
            for index in profile.leds.indices { outputs.set(index, lit: false) }
            shared.withLock { $0.lit = $0.lit.map { _ in false } }
            stopped.signal()
        }
        while true {
            let (indicator, since, running) = shared.withLock { ($0.indicator, $0.sinceNanoseconds, $0.running) }
            guard running else { return }
            let t = (monotonicNanoseconds() - since) / 1_000_000
            var sleepMilliseconds = 1000
            var dimmed: [Int] = []
            var duty = 0.0
            for (index, led) in profile.leds.enumerated() {
                let pattern = led.pattern(for: indicator)
                if pattern.isDimmed {
                    dimmed.append(index)
                    duty = pattern.level(at: t)
                    continue
                }
                set(index, lit: pattern.level(at: t) >= 0.5)
                if let next = pattern.nextChange(after: t) { sleepMilliseconds = min(sleepMilliseconds, next) }
            }
            if dimmed.isEmpty {
                _ = wake.wait(timeout: .now() + .milliseconds(sleepMilliseconds))
            } else {
                pwmCycle(dimmed, duty: duty)
            }
        }
    }

    /// One PWM period: on for `duty` of it, then off.
    private func pwmCycle(_ leds: [Int], duty: Double) {
        let steps = Int((duty * Double(Self.pwmSteps)).rounded())
        let onMicroseconds = Self.pwmPeriodMicroseconds * steps / Self.pwmSteps
        for index in leds { set(index, lit: steps > 0) }
        if steps > 0 && steps < Self.pwmSteps {
            usleep(UInt32(onMicroseconds))
            for index in leds { set(index, lit: false) }
        }
        usleep(UInt32(Self.pwmPeriodMicroseconds - (steps < Self.pwmSteps ? onMicroseconds : 0)))
    }

    private func set(_ index: Int, lit: Bool) {
        let changed = shared.withLock { state in
            guard state.lit[index] != lit else { return false }
            state.lit[index] = lit
            return true
        }
        if changed { outputs.set(index, lit: lit) }
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the board's one clock (LED patterns, button timing, status).
func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
