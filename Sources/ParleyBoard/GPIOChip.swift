import CGpiod
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What went wrong finding or claiming GPIO, worded for the journal: what was looked
/// for, and what exists instead.
public enum GPIOError: Error, Sendable, CustomStringConvertible {
    case chipNotFound(String, found: [GPIOChipInfo])
    case lineNotFound(String, role: String, chip: String, names: [String], lines: Int)
    case requestFailed(String, role: String, chip: String, reason: String)

    public var description: String {
        switch self {
        case .chipNotFound(let wanted, let found):
            let list = found.isEmpty ? "no GPIO chips at all (/dev/gpiochip* missing: is this the right machine, or does the kernel lack the GPIO driver?)"
                : "chips found: " + found.map(\.description).joined(separator: "; ")
            return "GPIO chip \"\(wanted)\" not found (board.chip); \(list)"
        case .lineNotFound(let wanted, let role, let chip, let names, let lines):
            let named = names.isEmpty ? "its \(lines) lines have no names (use an offset 0…\(max(0, lines - 1)))"
                : "named lines: " + names.joined(separator: ", ") + " (or an offset 0…\(max(0, lines - 1)))"
            return "GPIO line \"\(wanted)\" for the \(role) not found on \(chip); \(named)"
        case .requestFailed(let line, let role, let chip, let reason):
            return "cannot claim GPIO line \"\(line)\" on \(chip) for the \(role): \(reason) (is another program using it? see gpioinfo)"
        }
    }
}

/// One chip as `gpiodetect` shows it.
public struct GPIOChipInfo: Sendable, CustomStringConvertible {
    public var name: String
    public var label: String
    public var lines: Int
    /// Why it could not be opened (permissions), when it could not.
    public var problem: String?

    public var description: String {
        problem.map { "\(name) (cannot open: \($0))" } ?? "\(name) [\(label)] (\(lines) lines)"
    }
}

/// An open GPIO chip (libgpiod v1: what Debian and Raspberry Pi OS bookworm ship).
/// Not thread-safe: the board opens it, claims lines, then each line has one user.
final class GPIOChip: @unchecked Sendable {
    let handle: OpaquePointer
    let name: String
    let label: String

    /// By name ("gpiochip0"), path ("/dev/gpiochip0"), label ("pinctrl-rp1") or number.
    init(lookup: String) throws(GPIOError) {
        guard let handle = gpiod_chip_open_lookup(lookup) else {
            throw .chipNotFound(lookup, found: Self.available())
        }
        self.handle = handle
        name = String(cString: gpiod_chip_name(handle))
        label = String(cString: gpiod_chip_label(handle))
    }

    deinit { gpiod_chip_close(handle) }

    var lineCount: Int { Int(gpiod_chip_num_lines(handle)) }

    /// Every chip under /dev, opened one by one so one unreadable chip does not hide the rest.
    static func available() -> [GPIOChipInfo] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev"))?
            .filter { $0.hasPrefix("gpiochip") }.sorted() ?? []
        return names.map { name in
            guard let chip = gpiod_chip_open("/dev/\(name)") else {
                return GPIOChipInfo(name: name, label: "", lines: 0, problem: String(cString: strerror(errno)))
            }
            defer { gpiod_chip_close(chip) }
            return GPIOChipInfo(name: name, label: String(cString: gpiod_chip_label(chip)),
                                lines: Int(gpiod_chip_num_lines(chip)))
        }
    }

    /// Line names on this chip, for errors.
    var lineNames: [String] {
        (0..<gpiod_chip_num_lines(handle)).compactMap { offset in
            gpiod_chip_get_line(handle, offset).flatMap { gpiod_line_name($0) }.map { String(cString: $0) }
        }
    }

    /// A line by name (survives renumbering between Pi models), else by offset.
    func line(_ spec: String, role: String) throws(GPIOError) -> OpaquePointer {
        if let line = gpiod_chip_find_line(handle, spec) { return line }
        if let offset = UInt32(spec), offset < gpiod_chip_num_lines(handle),
           let line = gpiod_chip_get_line(handle, offset) {
            return line
        }
        throw .lineNotFound(spec, role: role, chip: "\(name) [\(label)]", names: lineNames, lines: lineCount)
    }

    enum Bias: String { case pullUp = "pull_up", pullDown = "pull_down", disabled, asIs = "as_is" }

    /// A button: both edges as events, level inverted when active-low.
    func requestButton(_ spec: String, role: String, activeLow: Bool, bias: Bias) throws(GPIOError) -> OpaquePointer {
        let line = try line(spec, role: role)
        var flags = activeLow ? Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) : 0
        switch bias {
        case .pullUp: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP)
        case .pullDown: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN)
        case .disabled: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE)
        case .asIs: break
        }
        try request(line, spec, role: role, type: Int32(GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES), flags: flags, value: 0)
        return line
    }

    /// An LED: output, starting dark.
    func requestLED(_ spec: String, role: String, activeLow: Bool) throws(GPIOError) -> OpaquePointer {
        let line = try line(spec, role: role)
        let flags = activeLow ? Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) : 0
        try request(line, spec, role: role, type: Int32(GPIOD_LINE_REQUEST_DIRECTION_OUTPUT), flags: flags, value: 0)
        return line
    }

    private func request(_ line: OpaquePointer, _ spec: String, role: String, type: Int32, flags: Int32,
                         value: Int32) throws(GPIOError) {
        var config = gpiod_line_request_config(consumer: nil, request_type: type, flags: flags)
        let result = "parleyd".withCString { consumer in
            config.consumer = consumer
            return gpiod_line_request(line, &config, value)
        }
        if result != 0 {
            throw .requestFailed(spec, role: role, chip: "\(name) [\(label)]", reason: String(cString: strerror(errno)))
        }
    }
}
