#if canImport(Glibc)
import Glibc
#endif
import CParleyShims

/// Starts a named thread and asks for SCHED_FIFO; the kernel may refuse (no CAP_SYS_NICE
/// and RLIMIT_RTPRIO 0), and the thread then runs at normal priority.
enum RealtimeThread {
    struct Started {
        let thread: pthread_t
        let scheduling: AudioScheduling
    }

    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = String(name.prefix(15))
            self.body = body
        }
    }

    static func start(name: String, priority: Int, body: @escaping () -> Void) -> Started? {
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            _ = CParley_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
        guard priority > 0 else { return Started(thread: thread, scheduling: .normalByConfiguration) }
        var param = sched_param(sched_priority: Int32(priority))
        let err = pthread_setschedparam(thread, Int32(SCHED_FIFO), &param)
        return Started(thread: thread,
                       scheduling: err == 0 ? .realtime(priority: priority) : .refused(String(cString: strerror(err))))
    }
}

/// How the audio threads are scheduled.
public enum AudioScheduling: Sendable, Equatable {
    case realtime(priority: Int)
    /// `audio.realtime_priority = 0`.
    case normalByConfiguration
    /// The kernel refused SCHED_FIFO (no CAP_SYS_NICE, RLIMIT_RTPRIO 0): normal priority.
    case refused(String)
}
