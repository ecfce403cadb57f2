import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `GET /metrics` in Prometheus text on `metrics.listen` (localhost by default): a scraper
/// or node_exporter's textfile collector on the device reads it. A port that cannot be
/// bound is logged and the daemon runs on without it: monitoring must not silence the
/// voice appliance.
struct MetricsServer: Service {
    let listen: String
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let metrics: @Sendable () async -> [String: Double]

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    func run() async throws {
        guard let (host, port) = Self.split(listen) else {
            logger.error("metrics: metrics.listen \"\(listen)\" is not host:port (e.g. 127.0.0.1:9464); metrics are off")
            return try await gracefulShutdown()  // a service that returns would end the daemon
        }
        let server: NIOAsyncChannel<Connection, Never>
        do {
            server = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            logger.error("metrics: cannot listen on \(listen): \(error) (choose another metrics.listen); metrics are off")
            return try await gracefulShutdown()
        }
        let bound = server.channel.localAddress?.port ?? port
        logger.info("metrics on http://\(host):\(bound)/metrics")
        try await acceptUntilShutdown(server) { await serve($0) }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await part in inbound {
                    guard case .head(let request) = part else { continue }
                    let found = request.method == .GET && (request.uri == "/metrics" || request.uri.hasPrefix("/metrics?"))
                    let body = found ? PrometheusText.render(await metrics()) : "not found: try /metrics\n"
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
                    headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                    let head = HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers)
                    try await outbound.write(.head(head))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    try await outbound.write(.end(nil))
                }
            }
        } catch {
            logger.debug("metrics: client gone: \(error)")
        }
    }

    static func split(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
