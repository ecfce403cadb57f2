#if canImport(Glibc)
import Glibc
#endif
import CParleyShims

/// Starts a named thread and asks for SCHED_FIFO; the kernel may refuse (no CAP_SYS_NICE
/// and RLIMIT_RTPRIO 0), and the thread then runs at normal priority. Its stack is sized
/// (not the 8 MB default) and its first part touched before the body runs, so under
/// `audio.lock_memory` what the thread uses is locked from its first period.
enum RealtimeThread {
    /// An audio loop calls no deeper than a few frames of DSP; a debug build's frames are
    /// several times a release build's, hence the room.
    static let stackBytes = 1 << 20
    static let touchedStackBytes: UInt = 256 << 10

    struct Started {
        let thread: pthread_t
        let scheduling: AudioScheduling
    }

    private final class Box {
        let name: String
        let touchesStack: Bool
        let body: () -> Void
        init(_ name: String, _ touchesStack: Bool, _ body: @escaping () -> Void) {
            self.name = String(name.prefix(15))
            self.touchesStack = touchesStack
            self.body = body
        }
    }

    /// - Parameter touchesStack: false for a worker that is no audio loop (its stack is only
    ///   made resident as it is used, and stays cached by glibc after the thread ends).
    static func start(name: String, priority: Int, touchesStack: Bool = true, body: @escaping () -> Void) -> Started? {
        let box = Unmanaged.passRetained(Box(name, touchesStack, body)).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackBytes)
        let rc = pthread_create(&thread, &attributes, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            _ = CParley_set_thread_name(box.name)
            if box.touchesStack { CParley_touch_stack(RealtimeThread.touchedStackBytes) }
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
