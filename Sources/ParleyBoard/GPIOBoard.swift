import CGpiod
import Foundation
import ParleyConfig
import Synchronization

/// Buttons and LEDs on libgpiod lines. One thread waits in poll() on the buttons' edge
/// events (no polling of levels) and on the debounce/long-press deadlines; the LEDs run
/// on the `LEDDriver` thread. Neither is an audio thread.
public final class GPIOBoard: Board {
    public let events: AsyncStream<BoardEvent>
    private let continuation: AsyncStream<BoardEvent>.Continuation
    private let chip: GPIOChip?
    private let buttons: [ClaimedLine]
    private let ledLines: [ClaimedLine]
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

    /// Opens what exists and claims it. `problems` lists what was configured but missing
    /// or busy; the caller decides whether that is fatal (`board.required`).
    public static func open(_ settings: BoardSettings, longPressMilliseconds: Int) -> (GPIOBoard, problems: [GPIOError]) {
        var problems: [GPIOError] = []
        let chip: GPIOChip?
        do { chip = try GPIOChip(lookup: settings.chip) } catch {
            chip = nil
            problems.append(error)
        }
        var buttons: [ClaimedLine] = []
        var leds: [ClaimedLine] = []
        var ledProfile: [(name: String, states: [String: String])] = []
        if let chip {
            let bias = GPIOChip.Bias(rawValue: settings.bias) ?? .asIs
            let wanted: [(Button, String?)] = [(.ptt, settings.pttLine), (.volumeUp, settings.volumeUpLine),
                                               (.volumeDown, settings.volumeDownLine), (.cancel, settings.cancelLine)]
            for case let (button, spec?) in wanted {
                let role = button.rawValue.replacingOccurrences(of: "_", with: " ") + " button"
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
        }
        let board = GPIOBoard(chip: chip, buttons: buttons, leds: leds, profile: LEDProfile(patterns: ledProfile),
                              debounceMilliseconds: settings.debounceMilliseconds,
                              longPressMilliseconds: longPressMilliseconds)
        return (board, problems)
    }

    private init(chip: GPIOChip?, buttons: [ClaimedLine], leds: [ClaimedLine], profile: LEDProfile,
                 debounceMilliseconds: Int, longPressMilliseconds: Int) {
        self.chip = chip
        self.buttons = buttons
        ledLines = leds
        tracker = Mutex(ButtonTracker(debounceMilliseconds: debounceMilliseconds,
                                      longPressMilliseconds: longPressMilliseconds))
        ledDriver = LEDDriver(profile: profile, outputs: GPIOLEDOutputs(lines: leds))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        (events, continuation) = AsyncStream.makeStream(of: BoardEvent.self)
        let thread = Thread { [self] in watchButtons() }
        thread.name = "parley-buttons"
        thread.start()
    }

    /// What was claimed, for the start-up log.
    public var summary: String {
        guard let chip else { return "gpio: no chip" }
        let names = buttons.compactMap(\.button?.rawValue) + ledDriver.readings().map { "\($0.name) LED" }
        return "gpio \(chip.name) [\(chip.label)]: " + (names.isEmpty ? "nothing claimed" : names.joined(separator: ", "))
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
        for claimed in buttons + ledLines { gpiod_line_release(claimed.line) }
        continuation.finish()
        close(wakeFD)
    }

    private func wakeWatcher() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    static func milliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    /// The button thread: edges and deadlines in, board events out.
    private func watchButtons() {
        defer { stopped.signal() }
        var watched = buttons
        var events = [gpiod_line_event](repeating: gpiod_line_event(), count: 16)
        while running.load(ordering: .acquiring) {
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
                + watched.map { pollfd(fd: gpiod_line_event_get_fd($0.line), events: Int16(POLLIN), revents: 0) }
            let deadline = tracker.withLock { $0.nextDeadline }
            let timeout = deadline.map { Int32(clamping: max(0, $0 - Self.milliseconds())) } ?? -1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 {
                var count: UInt64 = 0
                _ = read(wakeFD, &count, 8)
            }
            var gone: [Int] = []
            for (index, claimed) in watched.enumerated() {
                guard let button = claimed.button else { continue }
                let revents = fds[index + 1].revents
                if revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { gone.append(index); continue }
                guard revents & Int16(POLLIN) != 0 else { continue }
                let count = gpiod_line_event_read_multiple(claimed.line, &events, UInt32(events.count))
                guard count > 0 else { gone.append(index); continue }
                let now = Self.milliseconds()
                for event in events.prefix(Int(count)) {
                    // Requested active-low where wired so: a rising edge is always "pressed".
                    let pressed = event.event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE)
                    for out in tracker.withLock({ $0.edge(button, pressed: pressed, at: now) }) {
                        continuation.yield(out)
                    }
                }
            }
            // A line whose chip went away: stop watching it rather than spin on the error.
            for index in gone.reversed() { watched.remove(at: index) }
            let now = Self.milliseconds()
            for out in tracker.withLock({ $0.tick(at: now) }) { continuation.yield(out) }
        }
    }
}

/// LED levels onto claimed output lines (called from the LED thread only).
struct GPIOLEDOutputs: LEDOutputs {
    let lines: [GPIOBoard.ClaimedLine]

    func set(_ index: Int, lit: Bool) {
        _ = gpiod_line_set_value(lines[index].line, lit ? 1 : 0)
    }
}
