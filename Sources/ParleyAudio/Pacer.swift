#if canImport(Glibc)
import Glibc
#endif
import CParleyShims

/// Wakes an audio thread once per period on the monotonic clock, for devices that do
/// not pace (ALSA file/null plugins). Absolute deadlines, so lateness does not accumulate.
struct Pacer {
    private var next = timespec()
    private let periodNanoseconds: Int
    /// A wait cut short by `wake` keeps its deadline for the next wait.
    private var deadlineSet = false
    private var wakeFD = pollfd()

    /// Deadlines fall on whole multiples of the period on the monotonic clock, so the capture
    /// and playback pacers (same period) wake together rather than at two unrelated phases.
    init(periodNanoseconds: Int) {
        self.periodNanoseconds = periodNanoseconds
        next = Self.gridPoint(atOrBefore: monotonicNanoseconds(), period: periodNanoseconds)
    }

    mutating func wait() {
        setDeadline()
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nil) == EINTR {}
        deadlineSet = false
    }

    /// Waits for the next period or until `wake` is signalled, whichever comes first;
    /// returns true when woken (the period's deadline then still stands).
    mutating func wait(orUntil wake: EventFD) -> Bool {
        setDeadline()
        wakeFD = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        while true {
            let remaining = Self.nanoseconds(next) - monotonicNanoseconds()
            if remaining <= 0 { break }
            if CParley_ppoll(&wakeFD, 1, Int64(remaining)) > 0 && wakeFD.revents & Int16(POLLIN) != 0 {
                wake.drain()
                return true
            }
        }
        deadlineSet = false
        return false
    }

    private mutating func setDeadline() {
        guard !deadlineSet else { return }
        deadlineSet = true
        advance(by: periodNanoseconds)
        let now = monotonicNanoseconds()
        // Far behind (a stalled machine): start afresh on the grid rather than rush to catch up.
        if now - Self.nanoseconds(next) > 5 * periodNanoseconds {
            next = Self.gridPoint(atOrBefore: now, period: periodNanoseconds)
        }
    }

    private static func gridPoint(atOrBefore ns: Int, period: Int) -> timespec {
        let grid = ns / period * period
        return timespec(tv_sec: grid / 1_000_000_000, tv_nsec: grid % 1_000_000_000)
    }

    private mutating func advance(by ns: Int) {
        next.tv_nsec += ns
        while next.tv_nsec >= 1_000_000_000 {
            next.tv_nsec -= 1_000_000_000
            next.tv_sec += 1
        }
    }

    static func nanoseconds(_ t: timespec) -> Int { t.tv_sec * 1_000_000_000 + t.tv_nsec }
}

/// Sleeps on an audio thread (no allocation); used after unrecoverable device errors.
func sleepNanoseconds(_ ns: Int) {
    var request = timespec(tv_sec: ns / 1_000_000_000, tv_nsec: ns % 1_000_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}

/// CLOCK_MONOTONIC in nanoseconds (vDSO: fine on an audio thread).
@inline(__always) func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
