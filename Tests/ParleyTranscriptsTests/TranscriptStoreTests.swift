import Foundation
import Logging
import ParleyHTTP
import Testing
@testable import ParleyTranscripts

private func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-tq-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

private func transcript(_ n: Int, role: String = "user") -> Transcript {
    Transcript(userID: "T-1", role: role, content: "words \(n)", deviceID: "van-1", createdAt: "2026-11-21T10:00:0\(n)Z")
}

@Suite struct TranscriptStoreTests {
    @Test func queueIsOldestFirstAndSurvivesReopening() throws {
        let path = temporaryPath("q.db")
        do {
            let store = try TranscriptStore(path: path)
            for n in 1...3 { try store.append(transcript(n)) }
            let first = try #require(try store.oldest())
            #expect(first.transcript == transcript(1))
            try store.delivered(first.id)
        }
        let reopened = try TranscriptStore(path: path)
        #expect(try reopened.count() == 2)
        #expect(try reopened.oldest()?.transcript == transcript(2))
    }

    @Test func storeRunsInWALModeWithFullSync() throws {
        let path = temporaryPath("q.db")
        let store = try TranscriptStore(path: path)
        try store.append(transcript(1))
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func rejectedTranscriptsMoveAsideWithTheirReasonAndAttempts() throws {
        let store = try TranscriptStore(path: temporaryPath("q.db"))
        try store.append(transcript(1))
        try store.append(transcript(2))
        let first = try #require(try store.oldest())
        try store.attempted(first.id)
        try store.reject(first.id, reason: "HTTP 422: bad")
        #expect(try store.count() == 1)
        #expect(try store.count("rejected") == 1)
        #expect(try store.oldest()?.transcript == transcript(2))
    }

    @Test func aFileThatIsNotADatabaseIsSetAsideAndTheQueueStartsEmpty() throws {
        let path = temporaryPath("q.db")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let store = try TranscriptStore(path: path)
        let aside = try #require(store.recoveredFrom)
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(try store.count() == 0)
        try store.append(transcript(1))
        #expect(try store.count() == 1)
    }
}

@Suite struct DeliveryOutcomeTests {
    @Test func bodyErrorsAreFinalAndEverythingElseIsRetried() {
        #expect(DeliveryOutcome.of(status: 200, body: #"{"id":"1"}"#) == .delivered)
        #expect(DeliveryOutcome.of(status: 201, body: "") == .delivered)
        for status in [400, 413, 415, 422] {
            guard case .rejected = DeliveryOutcome.of(status: status, body: "x") else {
                Issue.record("\(status) should be final"); continue
            }
        }
        for status in [401, 403, 404, 408, 429, 500, 502, 503] {
            guard case .retry = DeliveryOutcome.of(status: status, body: "x") else {
                Issue.record("\(status) should be retried"); continue
            }
        }
    }

    @Test func theBodyIsSeed003sTranscriptCreate() throws {
        let object = try JSONSerialization.jsonObject(with: Data(transcript(1, role: "assistant").body)) as? [String: String]
        #expect(object == ["user_id": "T-1", "role": "assistant", "content": "words 1", "device_id": "van-1",
                           "created_at": "2026-11-21T10:00:01Z"])
    }
}

@Suite struct TranscriptOutboxTests {
    func outbox(_ path: String, max: Int = 100) throws -> TranscriptOutbox {
        try TranscriptOutbox(
            settings: .init(url: "http://127.0.0.1:9/realtime/transcripts", token: "t", userID: "T-1", deviceID: "van-1",
                            queuePath: path, maximumQueued: max, retryInitial: .milliseconds(20),
                            retryMax: .milliseconds(50), timeoutMilliseconds: 500),
            http: HTTPClient(), logger: Logger(label: "test"))
    }

    @Test func anUnreachableEndpointKeepsEverythingQueuedInOrder() async throws {
        let path = temporaryPath("q.db")
        let box = try outbox(path)
        box.submit(role: "user", content: "first")
        box.submit(role: "assistant", content: "second")
        box.submit(role: "user", content: "")  // nothing to keep
        let sender = Task { await box.run() }
        try await Task.sleep(for: .milliseconds(300))
        sender.cancel()
        await sender.value
        box.drain()
        #expect(box.stats.queued == 2)
        #expect(box.stats.failedAttempts >= 2)
        #expect(box.stats.lastError != nil)
        let store = try TranscriptStore(path: path)
        #expect(try store.oldest()?.transcript.content == "first")
        #expect(try store.oldest()?.attempts ?? 0 >= 2)
    }

    @Test func aFullQueueRefusesNewTranscriptsAndKeepsTheQueuedOnes() throws {
        let path = temporaryPath("q.db")
        let box = try outbox(path, max: 2)
        for n in 1...4 { box.submit(role: "user", content: "t\(n)") }
        box.drain()
        #expect(box.stats.queued == 2)
        #expect(box.stats.dropped == 2)
        #expect(try TranscriptStore(path: path).oldest()?.transcript.content == "t1")
    }

    @Test func anUnwritableQueuePathNamesTheKeyAndAFix() {
        #expect {
            _ = try outbox("/proc/parley/q.db")
        } throws: { error in
            "\(error)".contains("transcripts.queue_path") && "\(error)".contains("fix:")
        }
    }
}
