import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify without libsystemd: datagrams to $NOTIFY_SOCKET. Without the variable (not
/// under systemd) every call is a no-op, so the daemon runs the same either way.
public final class SystemdNotifier: Sendable {
    private let address: [UInt8]?
    /// WATCHDOG_USEC when the watchdog is on for this process.
    public let watchdogMicroseconds: UInt64?
    /// The latest STATUS= text: READY carries it (never a fixed text over a newer state).
    /// Sent under the lock, so systemd hears the texts in the order they were set.
    private let latestStatus = Mutex("starting")

    public init(environment: [String: String]) {
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@") {
            var bytes = Array(path.utf8)
            if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
            address = bytes
        } else {
            address = nil
        }
        let pidMatches = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        watchdogMicroseconds = pidMatches ? environment["WATCHDOG_USEC"].flatMap(UInt64.init).flatMap { $0 > 0 ? $0 : nil }
                                          : nil
    }

    public var isEnabled: Bool { address != nil }

    /// READY=1 with the latest status.
    public func ready() { latestStatus.withLock { send("READY=1\nSTATUS=\($0)") } }
    public func status(_ text: String) {
        latestStatus.withLock {
            $0 = text
            send("STATUS=\(text)")
        }
    }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping() {
        latestStatus.withLock {
            $0 = "stopping"
            send("STOPPING=1\nSTATUS=stopping")
        }
    }
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)")
    }

    /// Sends one message; returns false when not under systemd or the send failed.
    @discardableResult
    public func send(_ message: String) -> Bool {
        guard let address else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard address.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: address)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + address.count)
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &addr) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), sa, length)
            }
        }
        return sent == bytes.count
    }
}
