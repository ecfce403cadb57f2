#if canImport(Glibc)
import Glibc
#endif
import CParleyShims

/// One eventfd: a counter one side adds to with a single write(2) — no allocation, no lock,
/// so an audio thread may signal — and the other side waits on in read(2) or poll(2).
public final class EventFD: Sendable {
    let fd: Int32

    public init() {
        fd = CParley_eventfd()
        precondition(fd >= 0, "eventfd: \(errno)")
    }

    deinit { close(fd) }

    @inline(__always)
    public func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Blocks until signalled; false when the read failed (other than EINTR, retried).
    func wait() -> Bool {
        var count: UInt64 = 0
        while true {
            let n = read(fd, &count, 8)
            if n == 8 { return true }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// Clears the counter after poll(2) said it is readable.
    @inline(__always)
    func drain() {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
    }
}
