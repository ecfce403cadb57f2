import Logging

/// One connection's outbound messages, in order, written by one task: whoever sends never
/// waits for the socket — a slow uplink holds up this queue, not the conversation (the LEDs,
/// the cues, the next frame's processing). Bounded to a minute of 20 ms appends: past that
/// the link is stalled anyway (`backend.stall_timeout_ms` ends it), so the overflow is dropped
/// and said once.
final class OrderedWriter: Sendable {
    static let capacity = 3000

    private let queue: AsyncStream<(type: String, text: String)>.Continuation
    private let writer: Task<Void, Never>

    init(_ sender: any RealtimeLinkSender, name: String, logger: Logger) {
        let (messages, queue) = AsyncStream.makeStream(of: (type: String, text: String).self,
                                                       bufferingPolicy: .bufferingOldest(Self.capacity))
        self.queue = queue
        writer = Task {
            var failures = 0
            for await message in messages {
                do { try await sender.send(message.text) } catch {
                    // Once per connection: a closing socket fails everything still queued.
                    failures += 1
                    if failures == 1 { logger.warning("\(name): cannot send \(message.type): \(error)") }
                }
            }
        }
    }

    /// Queues a message behind the ones before it; false when the queue is full (dropped).
    @discardableResult
    func enqueue(_ text: String, type: String) -> Bool {
        if case .dropped = queue.yield((type, text)) { return false }
        return true
    }

    /// No more messages: what is queued is still written, then the writer ends.
    func finish() { queue.finish() }
}
