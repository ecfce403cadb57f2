import Dispatch
import FoundationEssentials
import Logging
import ParleyHTTP
import Synchronization

/// Store-and-forward of finished transcripts (seed 003): `submit` queues one on disk at
/// once (off the caller's thread, in order), `run` delivers the queue oldest first, one at a
/// time, retrying with backoff while the endpoint is unreachable. Nothing leaves the disk
/// before the endpoint answered 2xx.
public final class TranscriptOutbox: Sendable {
    public struct Settings: Sendable {
        public var url: String
        public var token: String
        public var userID: String
        public var deviceID: String
        public var queuePath: String
        public var maximumQueued: Int
        public var retryInitial: Duration
        public var retryMax: Duration
        public var timeoutMilliseconds: Int

        public init(url: String, token: String, userID: String, deviceID: String, queuePath: String,
                    maximumQueued: Int, retryInitial: Duration = .seconds(1), retryMax: Duration,
                    timeoutMilliseconds: Int) {
            self.url = url
            self.token = token
            self.userID = userID
            self.deviceID = deviceID
            self.queuePath = queuePath
            self.maximumQueued = maximumQueued
            self.retryInitial = retryInitial
            self.retryMax = retryMax
            self.timeoutMilliseconds = timeoutMilliseconds
        }
    }

    public struct Stats: Sendable, Equatable {
        public var queued = 0
        public var sent = 0
        public var rejected = 0
        /// Refused because the queue was full or the disk failed.
        public var dropped = 0
        public var failedAttempts = 0
        /// Why the last attempt failed, while the endpoint is failing; nil once it takes transcripts again.
        public var lastError: String?
    }

    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    private let settings: Settings
    private let http: HTTPClient
    private let logger: Logger
    /// The store is touched only on this serial queue: writes keep submission order and
    /// never block the caller's thread.
    private let disk = DispatchQueue(label: "parley.transcripts.disk")
    nonisolated(unsafe) private let store: TranscriptStore
    private let state: Mutex<Stats>
    private let fullReported = Atomic<Bool>(false)
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(settings: Settings, http: HTTPClient, logger: Logger) throws(OpenError) {
        do {
            // Outside systemd's StateDirectory= the directory may not exist yet.
            let directory = settings.queuePath.lastIndex(of: "/").map { String(settings.queuePath[..<$0]) } ?? ""
            if !directory.isEmpty {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                         attributes: [.posixPermissions: 0o750])
            }
            store = try TranscriptStore(path: settings.queuePath)
        } catch {
            throw OpenError(description: "transcripts.queue_path: cannot open the transcript queue \(settings.queuePath): \(error); fix: point transcripts.queue_path at a writable directory (StateDirectory=parley gives /var/lib/parley)")
        }
        if let aside = store.recoveredFrom {
            logger.error("transcript queue \(settings.queuePath) was not a database; kept it as \(aside) and started an empty queue")
        }
        var stats = Stats()
        stats.queued = (try? store.count()) ?? 0
        stats.rejected = (try? store.count("rejected")) ?? 0
        state = Mutex(stats)
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.settings = settings
        self.http = http
        self.logger = logger
        if stats.queued > 0 { logger.info("transcripts: \(stats.queued) waiting from before; delivering to \(settings.url)") }
    }

    public var stats: Stats { state.withLock { $0 } }

    /// Queues a finished transcript (empty text is skipped). Returns at once; the write is
    /// synced to disk before delivery can see it.
    public func submit(role: String, content: String) {
        guard !content.isEmpty else { return }
        let transcript = Transcript(userID: settings.userID, role: role, content: content,
                                    deviceID: settings.deviceID, createdAt: Transcript.timestamp())
        disk.async { [self] in
            let queued = state.withLock { $0.queued }
            guard queued < settings.maximumQueued else {
                state.withLock { $0.dropped += 1 }
                if !fullReported.exchange(true, ordering: .relaxed) {  // once per full spell
                    logger.error("transcript queue full (\(settings.maximumQueued) waiting, transcripts.max_queued): refusing new transcripts until \(settings.url) takes some")
                }
                return
            }
            do {
                try store.append(transcript)
                state.withLock { $0.queued += 1 }
                wake.yield()
            } catch {
                state.withLock { $0.dropped += 1 }
                logger.error("could not queue a \(role) transcript in \(settings.queuePath): \(error)")
            }
        }
    }

    /// Waits until every submitted transcript is on disk (shutdown).
    public func drain() {
        disk.sync {}
    }

    /// Delivers the queue until cancelled.
    public func run() async {
        var wakeups = self.wakeups.makeAsyncIterator()
        var backoff = settings.retryInitial
        var failing = false
        while !Task.isCancelled {
            guard let next = await onDisk({ try $0.oldest() }) ?? nil else {
                if await wakeups.next() == nil { return }
                continue
            }
            let outcome = await deliver(next.transcript)
            switch outcome {
            case .delivered:
                _ = await onDisk { try $0.delivered(next.id) }
                state.withLock { $0.sent += 1; $0.queued -= 1; $0.lastError = nil }
                fullReported.store(false, ordering: .relaxed)
                if failing {
                    logger.notice("transcripts: \(settings.url) takes transcripts again (\(stats.queued) still waiting)")
                }
                failing = false
                backoff = settings.retryInitial
            case .rejected(let reason):
                _ = await onDisk { try $0.reject(next.id, reason: reason) }
                state.withLock { $0.rejected += 1; $0.queued -= 1 }
                logger.error("transcripts: \(settings.url) refused a \(next.transcript.role) transcript from \(next.transcript.createdAt) for good (\(reason)); kept in the queue's rejected table")
            case .retry(let reason):
                _ = await onDisk { try $0.attempted(next.id) }
                state.withLock { $0.failedAttempts += 1; $0.lastError = reason }
                if !failing {
                    logger.warning("transcripts: cannot deliver to \(settings.url) (\(reason)); \(stats.queued) kept on disk, retrying with backoff up to \(settings.retryMax)")
                } else {
                    logger.debug("transcripts: still failing (\(reason)); next try in \(backoff)")
                }
                failing = true
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, settings.retryMax)
            }
        }
    }

    private func deliver(_ transcript: Transcript) async -> DeliveryOutcome {
        let request = HTTPRequest(
            method: "POST", url: settings.url,
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(settings.token)")],
            body: transcript.body, timeoutMilliseconds: settings.timeoutMilliseconds, maximumResponseBytes: 64 << 10)
        do {
            let response = try await http.perform(request)
            return .of(status: response.status, body: response.text)
        } catch {
            return .retry("\(error)")
        }
    }

    /// Runs `body` on the disk queue. A failing statement is logged and reads as nil.
    private func onDisk<T: Sendable>(_ body: @escaping @Sendable (TranscriptStore) throws -> T) async -> T? {
        await withCheckedContinuation { continuation in
            disk.async { [self] in
                do {
                    continuation.resume(returning: try body(store))
                } catch {
                    logger.error("transcript queue \(settings.queuePath): \(error)")
                    continuation.resume(returning: nil)
                }
            }
        }
    }
}
