import FoundationEssentials
import ParleyControlProtocol
#if canImport(Glibc)
import Glibc
#endif

/// One request over the daemon's Unix socket, blocking, with a timeout.
struct ControlClient {
    let path: String
    var timeoutSeconds = 10

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func send(_ request: ControlRequest) throws -> ControlReply {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot create a socket: \(errnoText())") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let why = errnoText()
            let hint = errno == EACCES ? " (join the socket's group, or use sudo)" : ""
            throw Failure(description: "cannot reach parleyd at \(path): \(why)\(hint). Is it running? Check `systemctl status parleyd` and `journalctl -u parleyd`.")
        }
        var line = request.encoded()
        line.append(0x0A)
        // A refused client may find the connection closed before its request went: the reason
        // is waiting to be read (MSG_NOSIGNAL: EPIPE, not death by SIGPIPE).
        let sent = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == line.count || errno == EPIPE else { throw Failure(description: "cannot send to parleyd: \(errnoText())") }
        var reply = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(0x0A) {
            let n = read(fd, &chunk, chunk.count)
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "no reply from parleyd within \(timeoutSeconds) s: \(errnoText())") }
            reply.append(contentsOf: chunk[0..<n])
        }
        guard let end = reply.firstIndex(of: 0x0A) else { throw Failure(description: "parleyd closed the connection without a reply") }
        do { return try ControlReply.decode(reply[..<end]) } catch { throw Failure(description: error.description) }
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}
