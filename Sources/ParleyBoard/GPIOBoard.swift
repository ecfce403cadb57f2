import CGpiod
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ParleyConfig
import Synchronization

/// Buttons and LEDs on libgpiod lines. One thread waits in poll() on the buttons' edge
/// events (no polling of levels) and on the debounce/long-press deadlines; the LEDs run
/// on the `LEDDriver` thread. Neither is an audio thread.
///
/// A chip that goes away (a HAT's I2C expander unplugged, a driver unbound) is noticed by the
/// button thread within a second — on Linux 6.1 its line fds report nothing, but its device
/// node goes — told once through `onHealth`, and claimed again by label when it is back.
public final class GPIOBoard: Board {
    public let events: AsyncStream<BoardEvent>
    private let continuation: AsyncStream<BoardEvent>.Continuation
    private let settings: BoardSettings
    /// (what happened, whether it is a problem): the chip gone, or back.
    private let onHealth: @Sendable (String, Bool) -> Void
    /// The claimed chip: the button thread swaps it; `summary` reads it.
    private let current: Mutex<Claimed?>
    /// The chip was claimed once, or is waited for from the start: nil `current` means gone
    /// (or not there yet) rather than left out, and the button thread claims it when it appears.
    private let everClaimed: Atomic<Bool>
    /// Missing since the start, waited for (`board.required`): not yet seen.
    private let notYetSeen: Atomic<Bool>
    /// The buttons claimed at start: a chip that comes back must give the same ones.
    private let startButtons: [Button?]
    private let ledLines: LEDLines
    private let tracker: Mutex<ButtonTracker>
    private let ledDriver: LEDDriver
    private let wakeFD: Int32
    private let running = Atomic<Bool>(true)
    private let stopped = DispatchSemaphore(value: 0)

    /// A requested line handle; each has one user (the event thread or the LED thread).
    struct ClaimedLine: @unchecked Sendable {
        var line: OpaquePointer
        /// nil for an LED.
        var button: Button?
    }

    /// A chip and what this board holds on it.
    struct Claimed: @unchecked Sendable {
        let chip: GPIOChip
        let buttons: [ClaimedLine]
        let leds: [ClaimedLine]

        func release() { for claimed in buttons + leds { gpiod_line_release(claimed.line) } }
    }

    /// Opens what exists and claims it. `problems` lists what was configured but missing
    /// or busy; the caller decides whether that is fatal (`board.required`). `onHealth`
    /// hears the chip go and come back (one line each).
    public static func open(_ settings: BoardSettings, longPressMilliseconds: Int, waitForChip: Bool = false,
                            onHealth: @escaping @Sendable (String, Bool) -> Void = { _, _ in }) -> (GPIOBoard, problems: [GPIOError]) {
        let (claimed, profile, problems) = claim(settings)
        // No chip at all (`claim` finds no chip: nothing claimed), and told to wait: the board is
        // what the settings say it will be once the chip appears (a HAT's expander still
        // probing at boot, a USB GPIO adapter).
        let waiting = claimed == nil && waitForChip
        let expected = LEDProfile(patterns: settings.leds.map { (name: $0.name, states: $0.patterns) })
        let board = GPIOBoard(settings: settings, claimed: claimed, profile: waiting ? expected : profile,
                              expectedButtons: waiting ? wantedButtons(settings).map(\.0) : nil, onHealth: onHealth,
                              longPressMilliseconds: longPressMilliseconds)
        return (board, problems)
    }

    /// What `check-config` can know without claiming anything: the chip, then each configured
    /// line by name or offset. A missing chip is the one problem then (its lines are unknown).
    public static func check(_ settings: BoardSettings) -> [GPIOError] {
        let chip: GPIOChip
        do { chip = try GPIOChip(lookup: settings.chip) } catch { return [error] }
        let lines = wantedButtons(settings).map { ($0.0.rawValue.replacing("_", with: " ") + " button", $0.1) }
            + settings.leds.map { ("\($0.name) LED", $0.line) }
        var problems: [GPIOError] = []
        for (role, spec) in lines {
            do { _ = try chip.line(spec, role: role) } catch { problems.append(error) }
        }
        return problems
    }

    /// The configured buttons and their lines, in the order they are claimed.
    private static func wantedButtons(_ settings: BoardSettings) -> [(Button, String)] {
        let wanted: [(Button, String?)] = [(.ptt, settings.pttLine), (.volumeUp, settings.volumeUpLine),
                                           (.volumeDown, settings.volumeDownLine), (.cancel, settings.cancelLine)]
        return wanted.compactMap { button, line in line.map { (button, $0) } }
    }

    /// The configured chip and lines; with problems, what could be claimed.
    private static func claim(_ settings: BoardSettings) -> (Claimed?, LEDProfile, [GPIOError]) {
        var problems: [GPIOError] = []
        let chip: GPIOChip
        do { chip = try GPIOChip(lookup: settings.chip) } catch {
            return (nil, LEDProfile(patterns: []), [error])
        }
        var buttons: [ClaimedLine] = []
        var leds: [ClaimedLine] = []
        var ledProfile: [(name: String, states: [String: String])] = []
        let bias = GPIOChip.Bias(rawValue: settings.bias) ?? .asIs
        for (button, spec) in wantedButtons(settings) {
            let role = button.rawValue.replacing("_", with: " ") + " button"
            do {
                let line = try chip.requestButton(spec, role: role, activeLow: settings.activeLow, bias: bias)
                buttons.append(ClaimedLine(line: line, button: button))
            } catch { problems.append(error) }
        }
        for led in settings.leds {
            do {
                let line = try chip.requestLED(led.line, role: "\(led.name) LED", activeLow: led.activeLow)
                leds.append(ClaimedLine(line: line, button: nil))
                ledProfile.append((led.name, led.patterns))
            } catch { problems.append(error) }
        }
        return (Claimed(chip: chip, buttons: buttons, leds: leds), LEDProfile(patterns: ledProfile), problems)
    }

    private init(settings: BoardSettings, claimed: Claimed?, profile: LEDProfile, expectedButtons: [Button]?,
                 onHealth: @escaping @Sendable (String, Bool) -> Void, longPressMilliseconds: Int) {
        self.settings = settings
        self.onHealth = onHealth
        current = Mutex(claimed)
        everClaimed = Atomic(claimed != nil || expectedButtons != nil)
        notYetSeen = Atomic(claimed == nil && expectedButtons != nil)
        startButtons = claimed?.buttons.map(\.button) ?? expectedButtons ?? []
        tracker = Mutex(ButtonTracker(debounceMilliseconds: settings.debounceMilliseconds,
                                      longPressMilliseconds: longPressMilliseconds))
        ledLines = LEDLines(claimed?.leds.map(\.line) ?? [])
        ledDriver = LEDDriver(profile: profile, outputs: GPIOLEDOutputs(lines: ledLines))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        (events, continuation) = AsyncStream.makeStream(of: BoardEvent.self)
        BoardThread.start(name: "parley-buttons") { [self] in watchButtons(claimed?.buttons ?? []) }
    }

    /// What was claimed, for the start-up log.
    public var summary: String {
        guard let claimed = current.withLock({ $0 }) else {
            if notYetSeen.load(ordering: .relaxed) { return "gpio: waiting for chip \(settings.chip)" }
            return everClaimed.load(ordering: .relaxed) ? "gpio: chip \(settings.chip) gone" : "gpio: no chip"
        }
        let names = claimed.buttons.compactMap(\.button?.rawValue) + ledDriver.readings().map { "\($0.name) LED" }
        return "gpio \(claimed.chip.name) [\(claimed.chip.label)]: "
            + (names.isEmpty ? "nothing claimed" : names.joined(separator: ", "))
    }

    public func show(_ indicator: Indicator) { ledDriver.show(indicator) }

    public func setLongPress(milliseconds: Int) {
        tracker.withLock { $0.longPressMilliseconds = milliseconds }
        wakeWatcher()
    }

    public func set(_ button: Button, pressed: Bool) {
        let now = Self.milliseconds()
        for event in tracker.withLock({ $0.edge(button, pressed: pressed, at: now) }) { continuation.yield(event) }
        wakeWatcher()
    }

    public func leds() -> [LEDReading] { ledDriver.readings() }

    public func shutdown() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wakeWatcher()
        _ = stopped.wait(timeout: .now() + .seconds(1))
        ledDriver.stop()
        current.withLock { $0 }?.release()
        continuation.finish()
        close(wakeFD)
    }

    private func wakeWatcher() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    static func milliseconds() -> Int { monotonicNanoseconds() / 1_000_000 }

    /// The button thread: edges and deadlines in, board events out; once a second, whether
    /// the chip is still there (or back).
    private func watchButtons(_ claimedButtons: [ClaimedLine]) {
        defer { stopped.signal() }
        var watched = claimedButtons
        var events = [gpiod_line_event](repeating: gpiod_line_event(), count: 16)
        var nextCheck = Self.milliseconds() + 1000
        while running.load(ordering: .acquiring) {
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
                + watched.map { pollfd(fd: gpiod_line_event_get_fd($0.line), events: Int16(POLLIN), revents: 0) }
            let deadline = min(tracker.withLock { $0.nextDeadline } ?? nextCheck, nextCheck)
            let timeout = Int32(clamping: max(0, deadline - Self.milliseconds()))
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 {
                var count: UInt64 = 0
                _ = read(wakeFD, &count, 8)
            }
            var gone = false
            for (index, claimed) in watched.enumerated() {
                guard let button = claimed.button else { continue }
                let revents = fds[index + 1].revents
                if revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { gone = true; continue }
                guard revents & Int16(POLLIN) != 0 else { continue }
                let count = gpiod_line_event_read_multiple(claimed.line, &events, UInt32(events.count))
                guard count > 0 else { gone = true; continue }
                let now = Self.milliseconds()
                for event in events.prefix(Int(count)) {
                    // Requested active-low where wired so: a rising edge is always "pressed".
                    let pressed = event.event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE)
                    for out in tracker.withLock({ $0.edge(button, pressed: pressed, at: now) }) {
                        continuation.yield(out)
                    }
                }
            }
            let now = Self.milliseconds()
            if gone || now >= nextCheck {
                nextCheck = now + 1000
                watched = checkChip(gone: gone) ?? watched
            }
            for out in tracker.withLock({ $0.tick(at: now) }) { continuation.yield(out) }
        }
    }

    /// The chip's device node gone (or its lines failing): let go of everything and say so.
    /// Gone: try to claim it all again. Returns the buttons to watch when that changed.
    private func checkChip(gone lineFailed: Bool) -> [ClaimedLine]? {
        if let claimed = current.withLock({ $0 }) {
            guard lineFailed || access("/dev/\(claimed.chip.name)", F_OK) != 0 else { return nil }
            ledLines.replace([])
            claimed.release()
            current.withLock { $0 = nil }
            // A button held as the chip went can no longer be let go: release it, so a PTT
            // turn ends instead of streaming the microphone until the chip is back.
            let now = Self.milliseconds()
            for case let button? in claimed.buttons.map(\.button) {
                for out in tracker.withLock({ $0.edge(button, pressed: false, at: now) }) { continuation.yield(out) }
            }
            onHealth("board: GPIO chip \(claimed.chip.name) [\(claimed.chip.label)] gone: buttons and LEDs are "
                     + "unavailable until it is back (the control socket still works)", true)
            return []
        }
        // A chip missing from the start stays missing (board.required = false said so), unless
        // waited for; one that went is claimed again once all of it is back, LEDs in the driver's order.
        guard everClaimed.load(ordering: .relaxed) else { return nil }
        let (claimed, profile, problems) = Self.claim(settings)
        guard let claimed else { return nil }
        guard problems.isEmpty, profile.leds.map(\.name) == ledDriver.profile.leds.map(\.name),
              claimed.buttons.map(\.button) == startButtons else {
            claimed.release()  // back, but not as it was: try again next second
            return nil
        }
        current.withLock { $0 = claimed }
        ledLines.replace(claimed.leds.map(\.line))
        ledDriver.reapply()
        if notYetSeen.exchange(false, ordering: .relaxed) {
            onHealth("board: GPIO chip \(claimed.chip.name) [\(claimed.chip.label)] is here: buttons and LEDs claimed", false)
            return claimed.buttons
        }
        onHealth("board: GPIO chip back as \(claimed.chip.name) [\(claimed.chip.label)]: buttons and LEDs claimed again",
                 false)
        return claimed.buttons
    }
}

/// The LED lines the LED thread drives; swapped by the button thread when the chip goes
/// and comes back (empty meanwhile: nothing to drive).
final class LEDLines: Sendable {
    private let lines: Mutex<[UnsafeSendable]>

    struct UnsafeSendable: @unchecked Sendable { let line: OpaquePointer }

    init(_ lines: [OpaquePointer]) { self.lines = Mutex(lines.map(UnsafeSendable.init)) }

    func replace(_ new: [OpaquePointer]) { lines.withLock { $0 = new.map(UnsafeSendable.init) } }

    func set(_ index: Int, value: Int32) {
        lines.withLock { lines in
            guard index < lines.count else { return }
            _ = gpiod_line_set_value(lines[index].line, value)
        }
    }
}

/// LED levels onto claimed output lines (the LED thread; the button thread after a re-claim).
struct GPIOLEDOutputs: LEDOutputs {
    let lines: LEDLines

    func set(_ index: Int, lit: Bool) { lines.set(index, value: lit ? 1 : 0) }
}
