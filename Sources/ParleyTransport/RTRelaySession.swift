import FoundationEssentials
import ParleyHTTP
import ParleyRealtime
import Logging

/// When an rt relay answer is over, and which audio belongs to it, from what its streams
/// show (pure; times passed in). The relay has no cancel route and no response ids: after a
/// barge-in the interrupted answer may keep streaming, so its audio is dropped until its own
/// end (an audio done message, or a pause of `idle`) — also when the next turn has begun.
struct AnswerTracker {
    let idle: Duration
    private(set) var active = false
    /// Audio of an interrupted answer still arriving: dropped until it ends.
    private(set) var discarding = false
    /// When audio of the interrupted answer last arrived (or the barge-in, before any did).
    private var discardedAt = ContinuousClock.now
    private var started = ContinuousClock.now
    private var lastAudio: ContinuousClock.Instant?
    private var textDone = false
    private var audioDone = false
    private(set) var text = ""
    /// Interrupted answers whose text has not finished: their next done messages are theirs.
    private var staleTexts = 0

    init(idle: Duration) {
        self.idle = idle
    }

    /// A turn went in: its answer is awaited. An interrupted answer still streaming stays dropped.
    mutating func begin(at now: ContinuousClock.Instant) {
        self = AnswerTracker(idle: idle, keeping: self)
        active = true
        started = now
    }

    private init(idle: Duration, keeping old: AnswerTracker) {
        self.idle = idle
        discarding = old.discarding
        discardedAt = old.discardedAt
        staleTexts = old.staleTexts
    }

    /// Barge-in; true if an answer was running (the conversation hears it is done).
    mutating func interrupt(at now: ContinuousClock.Instant) -> Bool {
        defer {
            // Only audio still to come from the relay is the old answer's: one that had ended
            // (its audio done) has nothing more to send.
            if active && !audioDone {
                discarding = true
                discardedAt = lastAudio ?? now
            }
            if active && !textDone { staleTexts += 1 }
            active = false
        }
        return active
    }

    /// Whether to play this audio, and whether it starts the answer.
    mutating func audio(at now: ContinuousClock.Instant) -> (play: Bool, first: Bool) {
        if discarding {
            guard now - discardedAt >= idle else {
                discardedAt = now
                return (false, false)
            }
            discarding = false  // a pause: the interrupted answer was over; this is new
        }
        var first = lastAudio == nil
        if !active || audioDone {  // the relay spoke on its own: play it
            begin(at: now)
            first = true
        }
        lastAudio = now
        return (true, first)
    }

    /// The audio stream says an answer's audio is complete: the interrupted one's (dropping
    /// ends), or the current one's (it is over once played).
    mutating func audioEnded() {
        if discarding {
            discarding = false
        } else if active {
            audioDone = true
        }
    }

    mutating func delta(_ piece: String) { if staleTexts == 0 { text += piece } }

    /// The text is complete; returns the whole text for the transcript, or nil when it was
    /// an interrupted answer's.
    mutating func done(_ whole: String?) -> String? {
        guard staleTexts == 0 else {
            staleTexts -= 1
            return nil
        }
        textDone = true
        return whole ?? text
    }

    /// Whether the answer is over at `now`: its audio done, or text done and audio paused
    /// briefly, or no audio for `idle` after some came, or nothing at all for `patience`.
    func isOver(at now: ContinuousClock.Instant, patience: Duration = .seconds(60)) -> Bool {
        guard active else { return false }
        if audioDone && lastAudio != nil { return true }
        if let last = lastAudio {
            return now - last >= (textDone ? min(idle, .milliseconds(300)) : idle)
        }
        return now - started >= (textDone ? .seconds(2) : patience)
    }

    mutating func finish() { active = false }
}

extension RTRelayBackend {
    /// Runs one started session until it ends: uploads in order, the three SSE streams, and
    /// the answer's end. Returns why it ended.
    func runSession(_ id: String) async -> LinkEnd {
        let (uploads, outbox) = AsyncStream.makeStream(of: Upload.self)
        let (ends, endSession) = AsyncStream.makeStream(of: LinkEnd.self)
        let (opened, openedContinuation) = AsyncStream.makeStream(of: RTRelayPayload.Stream.self)
        self.outbox = outbox
        self.endSession = endSession
        sessionID = id
        pending.removeAll()
        answer = AnswerTracker(idle: .milliseconds(settings.responseIdleMilliseconds))
        defer {
            sessionID = nil
            self.outbox = nil
            self.endSession = nil
            outbox.finish()
        }
        return await withTaskGroup(of: LinkEnd?.self) { group in
            group.addTask { for await reason in ends { return reason }; return nil }
            group.addTask { await self.sendUploads(uploads) }
            for stream in RTRelayPayload.Stream.allCases {
                group.addTask { await self.follow(stream, session: id, opened: openedContinuation) }
            }
            group.addTask {
                // Ready once all three streams are open, so no answer is missed.
                var open = Set<RTRelayPayload.Stream>()
                for await stream in opened {
                    open.insert(stream)
                    if open.count == RTRelayPayload.Stream.allCases.count { break }
                }
                await self.streamsOpen()
                return await self.watchAnswers()
            }
            var reason = LinkEnd.stopped
            for await result in group {
                if let result { reason = result; break }
            }
            group.cancelAll()
            return reason
        }
    }

    private func streamsOpen() {
        linkReady()
        continuation.yield(.session(.created))
    }

    /// Every 50 ms: has the answer ended?
    private func watchAnswers() async -> LinkEnd? {
        while !Task.isCancelled {
            if answer.isOver(at: .now) {
                answer.finish()
                continuation.yield(.responseDone)
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    private func sendUploads(_ uploads: AsyncStream<Upload>) async -> LinkEnd? {
        for await upload in uploads {
            do {
                _ = try await post(upload.route, upload.body)
            } catch {
                if error.sessionGone { return .relayError("session \(sessionID ?? "?") ended: the relay says it is not active (\(error.message))") }
                continuation.yield(.error(BackendError(error.kind, "rt_relay: \(error.message)")))
            }
        }
        return nil
    }

    /// One SSE stream for the life of the session, reconnected when it drops (after the
    /// server's `retry:` or 1 s, with Last-Event-ID).
    private func follow(_ stream: RTRelayPayload.Stream, session id: String,
                        opened: AsyncStream<RTRelayPayload.Stream>.Continuation) async -> LinkEnd? {
        var parser = SSEParser()
        var malformedLogged = false
        while !Task.isCancelled {
            var headers = [(name: "Accept", value: "text/event-stream"), (name: "Cache-Control", value: "no-cache")]
            if !parser.lastEventID.isEmpty { headers.append(("Last-Event-ID", parser.lastEventID)) }
            let request = HTTPRequest(url: url(stream.rawValue) + "?sessionId=\(id)", headers: headers,
                                      timeoutMilliseconds: 0)
            parser.reset()
            malformedLogged = false
            var failure: String?
            do {
                for try await part in http.stream(request) {
                    switch part {
                    case .head(let status, _) where status == 503:
                        return .relayError("session \(id) ended: the \(stream.rawValue) stream says it is not active")
                    case .head(let status, let headers):
                        let type = headers.first { $0.name == "content-type" }?.value ?? ""
                        guard status == 200, type.hasPrefix("text/event-stream") else {
                            failure = "HTTP \(status) (\(type.isEmpty ? "no content type" : type))"
                            break
                        }
                        opened.yield(stream)
                    case .bytes(let bytes):
                        for event in parser.feed(bytes) {
                            do {
                                handle(try RTRelayPayload.parse(event, stream: stream))
                            } catch {
                                // Logged once per connection of the stream, counted every time.
                                if !malformedLogged { logger.warning("rt_relay: \(stream.rawValue) stream: \(error); skipped") }
                                malformedLogged = true
                                continuation.yield(.error(BackendError(.protocol, "rt_relay: \(stream.rawValue): \(error)",
                                                                       logged: true)))
                            }
                        }
                    }
                    if failure != nil { break }
                }
            } catch {
                failure = "\(error)"
            }
            guard !Task.isCancelled else { return nil }
            logger.warning("rt_relay: \(stream.rawValue) stream \(failure.map { "failed: \($0)" } ?? "closed"); reopening")
            if failure != nil {
                continuation.yield(.error(BackendError(.connection, "rt_relay: \(stream.rawValue) stream: \(failure!)",
                                                       logged: true)))
            }
            try? await Task.sleep(for: .milliseconds(parser.retryMilliseconds ?? 1000))
        }
        return nil
    }

    private func handle(_ payload: RTRelayPayload) {
        switch payload {
        case .hello:
            break
        case .audio(let samples):
            let (play, first) = answer.audio(at: .now)
            guard play, !samples.isEmpty else { return }
            if first { continuation.yield(.responseStarted) }
            continuation.yield(.audio(samples))
        case .audioDone:
            answer.audioEnded()
        case .assistantDelta(let piece):
            answer.delta(piece)
        case .assistantDone(let whole):
            if let text = answer.done(whole), !text.isEmpty { continuation.yield(.transcript(role: .assistant, text: text)) }
        case .userTranscript(let text):
            continuation.yield(.transcript(role: .user, text: text))
        case .error(let message):
            continuation.yield(.error(BackendError(.server, "rt_relay: stream error: \(message)")))
        }
    }
}
