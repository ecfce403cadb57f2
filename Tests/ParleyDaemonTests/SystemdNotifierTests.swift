import Glibc
import Logging
import ParleyAudio
import Testing
import Synchronization
@testable import ParleyDaemon

/// A datagram socket standing in for systemd's notify socket.
final class NotifySocket {
    let path: String
    let fd: Int32

    init() {
        path = "/tmp/parley-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(rc == 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 20000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Messages received within `milliseconds`.
    func receive(for milliseconds: Int) -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        repeat {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            clock_gettime(CLOCK_MONOTONIC, &now)
        } while (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1_000_000 < milliseconds
        return messages
    }
}

@Suite(.serialized) struct SystemdNotifierTests {
    @Test func messagesReachTheNotifySocket() {
        let socket = NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"])
        #expect(notifier.watchdogMicroseconds == 2_000_000)
        notifier.status("audio up")
        notifier.ready()
        notifier.watchdog()
        notifier.stopping()
        #expect(socket.receive(for: 100) == ["STATUS=audio up", "READY=1\nSTATUS=audio up", "WATCHDOG=1",
                                             "STOPPING=1\nSTATUS=stopping"])
    }

    /// Regression: READY carried a fixed "connecting" text over the state set before it, so
    /// `systemctl status` showed a connected device as connecting.
    @Test func readyCarriesTheLatestStatusNotAFixedText() {
        let socket = NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path])
        notifier.status("link=connecting session=terminated turn=idle (echo)")
        notifier.status("link=connected session=created turn=idle (echo)")
        notifier.ready()
        #expect(socket.receive(for: 100).last == "READY=1\nSTATUS=link=connected session=created turn=idle (echo)")
    }

    @Test func withoutSystemdEverythingIsANoOp() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.send("READY=1"))
        #expect(notifier.watchdogMicroseconds == nil)
        // The watchdog belongs to another process.
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"]).watchdogMicroseconds == nil)
    }

    @Test func watchdogPingsOnlyWhileEveryAudioHeartbeatAdvances() async throws {
        let socket = NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "100000"])
        let capture = AudioCounters(), playback = AudioCounters()
        let sink = LineSink()
        let shared = ParleyLogHandler.Shared(level: .info, format: .plain, redactor: Redactor()) { sink.write($0) }
        let supervisor = AudioSupervisor(
            watched: [.init(name: "capture", counters: capture), .init(name: "playback", counters: playback)],
            notifier: notifier, logger: Logger(label: "test") { ParleyLogHandler(label: $0, shared: shared) })
        let beating = Task {
            var captureAlive = true
            var ticks = 0
            while !Task.isCancelled {
                ticks += 1
                if ticks == 50 { captureAlive = false }  // after ~0.5 s the capture thread "hangs"
                if captureAlive { capture.heartbeat.add(1, ordering: .relaxed) }
                playback.heartbeat.add(1, ordering: .relaxed)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let running = Task { await supervisor.run() }
        let whileAlive = socket.receive(for: 450)
        try await Task.sleep(for: .milliseconds(150))  // the stall becomes visible
        _ = socket.receive(for: 10)
        let whileHung = socket.receive(for: 500)
        running.cancel()
        beating.cancel()
        #expect(whileAlive.filter { $0 == "WATCHDOG=1" }.count >= 5)
        #expect(!whileHung.contains("WATCHDOG=1"))
        #expect(sink.text.contains("audio capture thread stalled"))
        #expect(!sink.text.contains("audio playback thread stalled"))
    }
}
