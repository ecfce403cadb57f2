#if canImport(Glibc)
import Glibc
#endif
import CParleyShims

/// A named detached thread for the board's blocking work (waiting on GPIO line events,
/// timing the LED patterns): plain pthreads, so the board needs no Foundation.
enum BoardThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = String(name.prefix(15))  // the kernel's limit for a thread name
            self.body = body
        }
    }

    static func start(name: String, body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            _ = CParley_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
        guard rc == 0 else {
            // Without its thread the board cannot work at all: as Foundation's Thread would.
            fatalError("cannot create the \(name) thread: \(String(cString: strerror(rc)))")
        }
        pthread_detach(thread)
    }
}
