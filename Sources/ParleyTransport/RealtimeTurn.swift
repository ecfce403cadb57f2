import ParleyRealtime

/// The Realtime wire rules for one session, pure: which client events a conversation
/// command becomes, given what the server said so far.
/// - Appends leave in fixed chunks; a turn's first append is preceded by a clear.
/// - One response at a time: a commit while a response is still active (just cancelled)
///   queues response.create until its response.done.
/// - A barge-in cancels the active response and truncates the assistant item to what was
///   played, never more than was received.
/// - Over WebRTC (`audioAsMedia`) audio travels on the media tracks: no append events, and a
///   barge-in clears the server's output buffer instead of truncating (the server knows what played).
struct RealtimeTurn {
    private let audioAsMedia: Bool
    /// WebRTC: the response the server is playing on the media track.
    private var playingResponse: String?
    private var pending: [Int16] = []
    private var turnOpen = false
    private var activeResponse: String?
    private var cancelledResponses: Set<String> = []
    private var responseQueued = false
    /// The assistant audio item being received and how much of it, in samples.
    private var audioItem: (id: String, samples: Int)?
    /// Function calls handed on, per response: each call is announced twice.
    private var dispatchedCalls: Set<String> = []

    init(audioAsMedia: Bool = false) {
        self.audioAsMedia = audioAsMedia
    }

    /// Nothing in flight: no turn being recorded, no response active or queued. Hands-free,
    /// the microphone streams all the time: the server's speech events tell turns apart.
    func isIdle(handsFree: Bool) -> Bool { (handsFree || !turnOpen) && activeResponse == nil && !responseQueued }

    /// An answer was asked for and has not finished: the server owes us events.
    var awaitsServer: Bool { activeResponse != nil }

    mutating func handle(_ command: BackendCommand, chunkSamples: Int) -> [RealtimeClientEvent] {
        switch command {
        case .append(let samples):
            var out: [RealtimeClientEvent] = []
            if !turnOpen {
                turnOpen = true
                pending.removeAll(keepingCapacity: true)
                out.append(.clearAudio)
            }
            guard !audioAsMedia else { return out }
            pending.append(contentsOf: samples)
            var start = 0
            while pending.count - start >= chunkSamples {
                out.append(.appendAudio(pending[start..<start + chunkSamples]))
                start += chunkSamples
            }
            pending.removeFirst(start)
            return out
        case .commit:
            var out: [RealtimeClientEvent] = []
            if !pending.isEmpty { out.append(.appendAudio(pending[...])) }
            pending.removeAll(keepingCapacity: true)
            turnOpen = false
            out.append(.commitAudio)
            return out + requestResponse()
        case .clear:
            pending.removeAll(keepingCapacity: true)
            turnOpen = false
            return [.clearAudio]
        case .cancelResponse(let playedMilliseconds):
            var out: [RealtimeClientEvent] = []
            if let active = activeResponse {
                cancelledResponses.insert(active)
                out.append(.cancelResponse)
            }
            responseQueued = false
            if playingResponse != nil {
                playingResponse = nil
                out.append(.clearOutputAudio)
            }
            if let item = audioItem {
                let received = PCM16.milliseconds(samples: item.samples)
                out.append(.truncate(itemID: item.id, audioEndMilliseconds: min(playedMilliseconds, received)))
                audioItem = nil
            }
            return out
        case .text(let text):
            return [.userText(text)] + requestResponse()
        case .toolOutput(let callID, let output, let respond):
            return [.functionCallOutput(callID: callID, output: output)] + (respond ? requestResponse() : [])
        case .handsFree:
            return []  // a session.update: the backend owns the session config
        }
    }

    /// An error event while a response.create waits for its response.created: the answer will
    /// not come (rate limit, a refused request). True if the turn was waiting for it.
    mutating func requestFailed() -> Bool {
        guard activeResponse == "pending" else { return false }
        activeResponse = nil
        responseQueued = false
        cancelledResponses.remove("pending")
        return true
    }

    /// Whether a function call is new and belongs to a response nobody cancelled.
    mutating func functionCall(response: String, callID: String) -> Bool {
        guard !cancelledResponses.contains(response) else { return false }
        return dispatchedCalls.insert(callID).inserted
    }

    private mutating func requestResponse() -> [RealtimeClientEvent] {
        if activeResponse != nil {
            responseQueued = true
            return []
        }
        responseQueued = false
        activeResponse = "pending"
        return [.createResponse]
    }

    /// Whether this is the response the conversation waits for, and what to send now (a
    /// cancel, when the barge-in came before the server had created it).
    mutating func responseCreated(_ id: String) -> (current: Bool, next: [RealtimeClientEvent]) {
        activeResponse = id
        audioItem = nil
        guard cancelledResponses.remove("pending") == nil else {
            cancelledResponses.insert(id)
            return (false, [.cancelResponse])
        }
        return (true, [])
    }

    /// True when the audio belongs to the current (not cancelled) response.
    mutating func audioDelta(response: String, item: String, samples: Int) -> Bool {
        guard !cancelledResponses.contains(response), activeResponse == response else { return false }
        if audioItem?.id != item { audioItem = (item, 0) }
        audioItem!.samples += samples
        return true
    }

    /// WebRTC: whether the audio the server starts playing belongs to the current response.
    mutating func outputAudioStarted(_ response: String) -> Bool {
        guard !cancelledResponses.contains(response), activeResponse == response else { return false }
        playingResponse = response
        return true
    }

    /// WebRTC: whether the response whose audio stopped was the one being heard.
    mutating func outputAudioStopped(_ response: String) -> Bool {
        guard playingResponse == response else { return false }
        playingResponse = nil
        return true
    }

    /// Whether it was the current response, and what to send now (a queued response.create).
    mutating func responseDone(_ id: String) -> (current: Bool, next: [RealtimeClientEvent]) {
        let current = !cancelledResponses.contains(id)
        cancelledResponses.remove(id)
        dispatchedCalls.removeAll()  // both announcements of a call come before its response.done
        if activeResponse == id { activeResponse = nil }
        guard responseQueued, activeResponse == nil else { return (current, []) }
        return (current, requestResponse())
    }
}
