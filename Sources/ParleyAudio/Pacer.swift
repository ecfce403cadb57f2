#if canImport(Glibc)
import Glibc
#endif

/// Wakes an audio thread once per period on the monotonic clock, for devices that do
/// not pace (ALSA file/null plugins). Absolute deadlines, so lateness does not accumulate.
struct Pacer {
    private var next = timespec()
    private let periodNanoseconds: Int

    init(periodNanoseconds: Int) {
        self.periodNanoseconds = periodNanoseconds
        clock_gettime(CLOCK_MONOTONIC, &next)
    }

    mutating func wait() {
        advance(by: periodNanoseconds)
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        // Far behind (a stalled machine): start afresh rather than rush to catch up.
        if Self.nanoseconds(now) - Self.nanoseconds(next) > 5 * periodNanoseconds { next = now }
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nil) == EINTR {}
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
