#if canImport(Glibc)
import Glibc
#endif

/// `audio.lock_memory`: keeps the pages the daemon has touched resident, so an audio thread
/// never waits on a page fault. `MCL_ONFAULT` locks a page when it is first touched, not every
/// page mapped: plain `mlockall(MCL_CURRENT | MCL_FUTURE)` faulted in every thread's whole
/// 8 MB stack and every malloc arena (RSS 47 → 191 MB). What the audio threads use is touched
/// before they run (their rings and DSP state at allocation, their bounded stacks by
/// `RealtimeThread`), so it is locked before the first period.
public enum MemoryLock: Sendable, Equatable {
    case locked
    /// mlockall failed: `errno`, and the soft RLIMIT_MEMLOCK in bytes (nil: unlimited).
    case refused(errno: Int32, limitBytes: UInt64?)

    /// Locks current and future pages as they are faulted in. Done once at start: the
    /// flags stay in force for the process.
    public static func lockTouchedPages() -> MemoryLock {
        guard mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 else { return .locked }
        let err = errno
        var limit = rlimit()
        let limitBytes: UInt64? = getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max
            ? UInt64(limit.rlim_cur) : nil
        return .refused(errno: err, limitBytes: limitBytes)
    }

    /// The one line logged when locking failed: why, the limit, and the fix.
    public var problem: String? {
        guard case .refused(let err, let limitBytes) = self else { return nil }
        let reason = String(cString: strerror(err))
        let limit = limitBytes.map { "the memlock limit is \(Self.size($0))" } ?? "the memlock limit is unlimited"
        return "audio.lock_memory = true, but mlockall failed (\(reason)); \(limit): set LimitMEMLOCK=infinity in the unit (the packaged one does) or grant CAP_IPC_LOCK, or set audio.lock_memory = false. Audio pages can be paged out meanwhile"
    }

    static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB"
            : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? "\(bytes >> 10) KiB" : "\(bytes) bytes"
    }
}
