#if canImport(Glibc)
import Glibc
#endif
import CParleyShims
import CALSA

/// Wakes an audio thread on the period grid of the monotonic clock, for devices that do not
/// pace (ALSA file/null plugins), as the device's own clock would: a wait returns how many
/// periods are due. Absolute deadlines, so lateness does not accumulate.
struct Pacer {
    private let period: Int
    /// The end of the last period handed out (a grid point, monotonic nanoseconds).
    private var last: Int
    private var wakeFD = pollfd()

    /// Deadlines fall on whole multiples of the period on the monotonic clock, so the capture
    /// and playback pacers (same period) wake together rather than at two unrelated phases.
    init(periodNanoseconds: Int) {
        period = periodNanoseconds
        last = Self.gridPoint(atOrBefore: monotonicNanoseconds(), period: period)
    }

    /// Waits until `periods` more periods have passed, or until `wake` is signalled; returns
    /// the periods due: `periods`, or when woken those already passed (perhaps none).
    mutating func wait(periods: Int, orUntil wake: EventFD) -> Int {
        var deadline = last + periods * period
        // Far behind (a stalled machine): start afresh on the grid rather than rush to catch up.
        let start = monotonicNanoseconds()
        if start - deadline > 5 * period {
            deadline = Self.gridPoint(atOrBefore: start, period: period)
            last = deadline - periods * period
        }
        wakeFD = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        while true {
            let now = monotonicNanoseconds()
            let remaining = deadline - now
            if remaining <= 0 { break }
            if CParley_ppoll(&wakeFD, 1, Int64(remaining)) > 0 && wakeFD.revents & Int16(POLLIN) != 0 {
                wake.drain()
                let due = min(periods, max(0, (monotonicNanoseconds() - last) / period))
                last += due * period
                return due
            }
        }
        last = deadline
        return periods
    }

    static func gridPoint(atOrBefore ns: Int, period: Int) -> Int { ns / period * period }
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
