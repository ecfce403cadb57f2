import CCurl
import CParleyLazy
import CParleyShims
import Dispatch
import Synchronization

/// One HTTP request. Bodies are bytes; JSON is the caller's business.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timeoutMilliseconds: Int
    /// Largest response body accepted; more is an error, not a truncation.
    public var maximumResponseBytes: Int

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
                body: [UInt8] = [], timeoutMilliseconds: Int = 10_000, maximumResponseBytes: Int = 1 << 20) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maximumResponseBytes = maximumResponseBytes
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request got no HTTP response at all. A response with any status is not an error here.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case timedOut, cannotConnect, cannotResolve, tls, tooLarge, cancelled, other
    }
    public let kind: Kind
    public let description: String
    /// Why, without the request: curl's own words ("SSL certificate problem: certificate has expired").
    public let reason: String

    init(kind: Kind, description: String, reason: String? = nil) {
        self.kind = kind
        self.description = description
        self.reason = reason ?? description
    }
}

/// HTTP(S) through libcurl (system trust store, HTTP/1.1 and HTTP/2). Each transfer runs
/// on a dispatch thread so the blocking easy interface never holds a Swift concurrency thread.
public struct HTTPClient: Sendable {
    /// Extra CA certificate (PEM) trusted beside the system store, for TLS-intercepting proxies.
    public var caFile: String?
    /// false: certificates and host names are not checked (an explicit config flag only);
    /// `onInsecureConnection` hears the origin of each such https transfer, to warn.
    public var verifyTLS: Bool
    public var onInsecureConnection: (@Sendable (String) -> Void)?
    /// Hears the origin of each plain http:// transfer, to warn (backend.allow_insecure).
    public var onPlainConnection: (@Sendable (String) -> Void)?

    public init(caFile: String? = nil, verifyTLS: Bool = true, onInsecureConnection: (@Sendable (String) -> Void)? = nil,
                onPlainConnection: (@Sendable (String) -> Void)? = nil) {
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.onInsecureConnection = onInsecureConnection
        self.onPlainConnection = onPlainConnection
    }

    private func transfer(_ request: HTTPRequest, sink: (@Sendable (HTTPStreamPart) -> Void)? = nil) -> Transfer {
        HTTPClient.globalInit  // and so libcurl is opened at the first request, not before (CParleyLazy)
        let origin = { String(request.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            .prefix(3).joined(separator: "/")) }
        if !verifyTLS, request.url.hasPrefix("https:") { onInsecureConnection?(origin()) }
        if request.url.hasPrefix("http:") { onPlainConnection?(origin()) }
        return Transfer(request: request, caFile: caFile, verifyTLS: verifyTLS, sink: sink)
    }

    /// libcurl wants its global setup once per process, before any thread uses it.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func perform(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let transfer = transfer(request)
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(returning: transfer.run())
                }
            }
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }

    /// A response as it arrives (Server-Sent Events): `.head` first, then `.bytes` chunks;
    /// the stream ends with the transfer, throwing an `HTTPError` if it failed. Ending the
    /// iteration (or cancelling its task) aborts the transfer. `timeoutMilliseconds` 0: no
    /// overall limit, as a stream that stays open should.
    public func stream(_ request: HTTPRequest) -> AsyncThrowingStream<HTTPStreamPart, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: HTTPStreamPart.self, throwing: (any Error).self)
        let transfer = transfer(request) { continuation.yield($0) }
        continuation.onTermination = { _ in transfer.cancel() }
        DispatchQueue.global(qos: .userInitiated).async {
            switch transfer.run() {
            case .success: continuation.finish()
            case .failure(let error): continuation.finish(throwing: error)
            }
        }
        return stream
    }
}

public enum HTTPStreamPart: Sendable {
    case head(status: Int, headers: [(name: String, value: String)])
    case bytes([UInt8])
}

/// One easy handle's life: options, callbacks into this object, and the collected response.
private final class Transfer: @unchecked Sendable {
    // Only touched by the transfer's thread, except `cancelled`.
    private let request: HTTPRequest
    private let caFile: String?
    private let verifyTLS: Bool
    private var body: [UInt8] = []
    private var headers: [(name: String, value: String)] = []
    private var overflow = false
    private let cancelled = Atomic<Bool>(false)
    /// Streaming: parts go here as they arrive instead of collecting the body.
    private let sink: (@Sendable (HTTPStreamPart) -> Void)?
    private var handle: UnsafeMutableRawPointer?
    private var headSent = false

    init(request: HTTPRequest, caFile: String?, verifyTLS: Bool, sink: (@Sendable (HTTPStreamPart) -> Void)?) {
        self.request = request
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.sink = sink
    }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// ": why" when libcurl could not be opened (CParleyLazy opens it at the first request).
    static var unavailable: String { CParley_lazy_failure(CParleyLazyCurl).map { ": " + String(cString: $0) } ?? "" }

    func run() -> Result<HTTPResponse, HTTPError> {
        guard let handle = curl_easy_init() else { return .failure(HTTPError(kind: .other, description: "curl_easy_init failed\(Self.unavailable)")) }
        defer { curl_easy_cleanup(handle) }
        self.handle = handle
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        // curl's detailed message (which certificate check failed, and why) lands here.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer[0] = 0
        defer { errorBuffer.deallocate() }
        CParley_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        // Without this, curl sends "Expect: 100-continue" on larger bodies and waits for it.
        list = curl_slist_append(list, "Expect:")

        let me = Unmanaged.passUnretained(self).toOpaque()
        CParley_curl_setopt_string(handle, CURLOPT_URL, request.url)
        CParley_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        CParley_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
        CParley_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds)
        CParley_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS,
                                 request.timeoutMilliseconds == 0 ? 10_000 : min(request.timeoutMilliseconds, 10_000))
        CParley_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM for DNS timeouts
        CParley_curl_setopt_long(handle, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
        if let caFile {
            CParley_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)
            CParley_curl_setopt_string(handle, CURLOPT_CAPATH, "/etc/ssl/certs")
        }
        if !verifyTLS {
            CParley_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            CParley_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            CParley_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, request.body.count)
            request.body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies now: the buffer need not outlive this call.
                CParley_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS,
                                            UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(me)))
            }
        }
        CParley_curl_setopt_write_function(handle) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            return transfer.received(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }
        CParley_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, me)
        CParley_curl_setopt_header_function(handle) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            transfer.header(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        CParley_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, me)
        CParley_curl_setopt_xferinfo_function(handle) { context, _, _, _, _ in
            Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().cancelled.load(ordering: .relaxed) ? 1 : 0
        }
        CParley_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, me)
        CParley_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)

        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else { return .failure(error(code, detail: String(cString: errorBuffer))) }
        var status = 0
        CParley_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        sendHead()  // a response without a body
        return .success(HTTPResponse(status: status, headers: headers, body: body))
    }

    private func sendHead() {
        guard let sink, !headSent, let handle else { return }
        headSent = true
        var status = 0
        CParley_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        sink(.head(status: status, headers: headers))
    }

    private func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if let sink {
            sendHead()
            sink(.bytes(Array(bytes)))
            return true
        }
        guard body.count + bytes.count <= request.maximumResponseBytes else {
            overflow = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    private func header(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") { headers.removeAll() }  // a redirect or 100 Continue: keep the last response's
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        headers.append((name, value))
    }

    private func error(_ code: CURLcode, detail curlDetail: String) -> HTTPError {
        let what = curlDetail.isEmpty ? String(cString: curl_easy_strerror(code)) : curlDetail
        let kind: HTTPError.Kind = switch code {
        case CURLE_OPERATION_TIMEDOUT: .timedOut
        case CURLE_COULDNT_CONNECT: .cannotConnect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .cannotResolve
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE: .tls
        case CURLE_WRITE_ERROR where overflow: .tooLarge
        case CURLE_ABORTED_BY_CALLBACK: .cancelled
        default: .other
        }
        let detail = switch kind {
        case .tooLarge: "response larger than \(request.maximumResponseBytes) bytes"
        case .timedOut: "no answer within \(request.timeoutMilliseconds) ms"
        default: what
        }
        return HTTPError(kind: kind, description: "\(request.method) \(request.url): \(detail)", reason: detail)
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
