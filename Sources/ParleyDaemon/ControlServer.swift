import FoundationEssentials
import Logging
import NIOCore
import NIOPosix
import ParleyControlProtocol
import ServiceLifecycle

/// The local control socket: a Unix stream socket with line-delimited JSON requests and
/// replies (`parleyctl`, fleet scripts, tests). Access is the socket file's mode and group,
/// and each peer's credentials (`ControlAccess`).
/// It listens before the daemon says READY (`listen`), and serves while the group runs.
public struct ControlServer: Service {
    let path: String
    let mode: mode_t
    let group: String?
    let logger: Logger
    let access: ControlAccess
    let handle: @Sendable (ControlRequest) async -> ControlReply
    /// Refused clients and bad requests: a line at once, then a count at most once a minute.
    private let refusals: ThrottledWarning
    private let badRequests: ThrottledWarning
    private var server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>?

    public init(path: String, mode: UInt32, group: String?, logger: Logger,
                handle: @escaping @Sendable (ControlRequest) async -> ControlReply) {
        self.path = path
        self.mode = mode_t(mode)
        self.group = group
        self.logger = logger
        access = ControlAccess(group: group)
        self.handle = handle
        refusals = ThrottledWarning(logger: logger)
        badRequests = ThrottledWarning(logger: logger, level: .notice)
    }

    /// Binds the socket under a staging name, sets its mode and group, then renames it into
    /// place: a client never finds the path before it listens, nor with another mode (a
    /// connect in between was refused). Errors name the path and a fix.
    public mutating func listen(eventLoopGroup: any EventLoopGroup) async throws {
        try prepareDirectory()
        let staging = path + ".new"
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: eventLoopGroup)
                .bind(unixDomainSocketPath: staging, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(LineDecoder(maximumBytes: ControlRequest.maximumLineBytes)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ControlSocketError("cannot listen on control.socket \(path): \(error) (choose another path, or fix the directory's permissions)")
        }
        do {
            try applyPermissions(staging)
            guard rename(staging, path) == 0 else {
                throw ControlSocketError("cannot move \(staging) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(staging)
            throw error
        }
        self.server = server
        logger.info("control socket \(path) (mode \(String(mode, radix: 8)))")
    }

    public func run() async throws {
        guard let server else { return }
        defer { unlink(path) }  // shutdown: the socket closes and its file goes
        try await acceptUntilShutdown(server) { await serve($0) }
    }

    /// One client: a reply per request line until it hangs up.
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let refusal: String?
        do {
            let peer = try await ControlAccess.peer(of: connection.channel)
            refusal = access.refusal(uid: peer.uid, gid: peer.gid)
        } catch {
            // Gone before it could be asked who it is (connect and hang up): nothing to refuse.
            logger.debug("control socket: a client left at once: \(error)")
            return
        }
        if let refusal {
            refusals.happened { "control socket: refused \($0) client(s) since the last such line, the latest: \(refusal)" }
            try? await connection.executeThenClose { _, outbound in
                try await outbound.write(Self.line(.failed("refused: \(refusal)")))
            }
            return
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                do {
                    for try await line in inbound {
                        let reply: ControlReply
                        do throws(ControlProtocolError) {
                            let request = try ControlRequest.decode(Data(line.readableBytesView))
                            reply = await handle(request)
                        } catch {
                            badRequests.happened { "control socket: \($0) bad request(s) since the last such line, the latest: \(error)" }
                            reply = .failed(error.description)
                        }
                        try await outbound.write(Self.line(reply))
                    }
                } catch let error as LineDecoder.TooLong {
                    badRequests.happened { "control socket: \($0) bad request(s) since the last such line, the latest: \(error)" }
                    try? await outbound.write(Self.line(.failed(error.description)))
                }
            }
        } catch {
            logger.debug("control socket client gone: \(error)")
        }
    }

    /// A reply as the line the client reads.
    private static func line(_ reply: ControlReply) -> ByteBuffer {
        var bytes = reply.encoded()
        bytes.append(0x0A)
        return ByteBuffer(bytes: bytes)
    }

    private func prepareDirectory() throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw ControlSocketError("cannot create the directory for control.socket \(path): \(error)")
        }
    }

    private func applyPermissions(_ file: String) throws {
        guard chmod(file, mode) == 0 else {
            throw ControlSocketError("cannot set mode \(String(mode, radix: 8)) on \(path): \(String(cString: strerror(errno)))")
        }
        guard let group, !group.isEmpty else { return }
        guard let entry = getgrnam(group) else {
            throw ControlSocketError("control.group \"\(group)\" does not exist (create it, or leave control.group empty)")
        }
        guard chown(file, uid_t.max, entry.pointee.gr_gid) == 0 else {
            throw ControlSocketError("cannot give \(path) to group \(group): \(String(cString: strerror(errno)))")
        }
    }
}

struct ControlSocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Splits the stream at newlines; a line longer than `maximumBytes` is an error (the
/// connection then gets one error reply and is closed), never an unbounded buffer.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maximumBytes: Int

    struct TooLong: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "request line longer than \(limit) bytes" }
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maximumBytes { throw TooLong(limit: maximumBytes) }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard length <= maximumBytes else { throw TooLong(limit: maximumBytes) }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line = line.getSlice(at: line.readerIndex, length: length - 1)! }
        if line.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(line)) }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
