import CParleyWebRTC
import Synchronization

/// What GStreamer's callbacks reach: the event stream and the gathering waiter. Each C
/// connection holds a retain (`retained()`), given back by `releaseContext` when GLib drops
/// the handler, so no callback sees it freed.
final class Context: @unchecked Sendable {
    private let continuation: AsyncStream<WebRTCPeer.Event>.Continuation
    private let gathering = Mutex<(complete: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
    private let reassembler = Mutex(MessageReassembler())

    private init(_ continuation: AsyncStream<WebRTCPeer.Event>.Continuation) {
        self.continuation = continuation
    }

    static func make() -> (AsyncStream<WebRTCPeer.Event>, Context) {
        let (stream, continuation) = AsyncStream.makeStream(of: WebRTCPeer.Event.self)
        return (stream, Context(continuation))
    }

    func retained() -> UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func from(_ raw: UnsafeMutableRawPointer?) -> Context { Unmanaged<Context>.fromOpaque(raw!).takeUnretainedValue() }

    func yield(_ event: WebRTCPeer.Event) { continuation.yield(event) }

    func finish() {
        gathered()
        continuation.finish()
    }

    func message(_ bytes: UnsafeBufferPointer<UInt8>) {
        let piece = Array(bytes)
        switch reassembler.withLock({ $0.feed(piece) }) {
        case .message(let text): continuation.yield(.message(text))
        case .partial: break
        case .invalid(let why): continuation.yield(.failure("data channel: \(why)"))
        }
    }

    func gathered() {
        let waiter = gathering.withLock { state in
            state.complete = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns when ICE gathering is complete, or after `timeout` with what was gathered.
    func gatheringComplete(within timeout: Duration) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.gathered()
        }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let resumeNow = gathering.withLock { state in
                if state.complete { return true }
                state.waiter = waiter
                return false
            }
            if resumeNow { waiter.resume() }
        }
        timer.cancel()
    }
}

/// One C completion (create-offer, set-remote-description): NULL or the reason.
final class Completion: @unchecked Sendable {
    private let state = Mutex<(result: String??, waiter: CheckedContinuation<String?, Never>?)>((nil, nil))

    func complete(_ reason: String?) {
        let waiter = state.withLock { state in
            state.result = .some(reason)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: reason)
    }

    func wait() async -> String? {
        await withCheckedContinuation { waiter in
            let done = state.withLock { state -> String?? in
                if let result = state.result { return .some(result) }
                state.waiter = waiter
                return nil
            }
            if let done { waiter.resume(returning: done) }
        }
    }
}

let releaseContext: CParley_void_callback = { raw in Unmanaged<Context>.fromOpaque(raw!).release() }
let releaseCompletion: CParley_void_callback = { raw in Unmanaged<Completion>.fromOpaque(raw!).release() }

let onCompletion: CParley_text_callback = { raw, text in
    Unmanaged<Completion>.fromOpaque(raw!).takeUnretainedValue().complete(text.map { String(cString: $0) })
}

let onFailure: CParley_text_callback = { raw, text in
    Context.from(raw).yield(.failure(text.map { String(cString: $0) } ?? "unknown error"))
}

let onState: CParley_int_callback = { raw, value in
    guard let state = WebRTCPeer.PeerState(rawValue: value) else { return }
    Context.from(raw).yield(.state(state))
}

let onGathering: CParley_int_callback = { raw, value in
    if value == Int32(CParley_GATHERING_COMPLETE) { Context.from(raw).gathered() }
}

let onSamples: CParley_samples_callback = { raw, samples, count in
    guard let samples, count > 0 else { return }
    Context.from(raw).yield(.audio(Array(UnsafeBufferPointer(start: samples, count: count))))
}

let onOpen: CParley_void_callback = { raw in Context.from(raw).yield(.channelOpen) }
let onClose: CParley_void_callback = { raw in Context.from(raw).yield(.channelClosed) }

let onMessage: CParley_text_callback = { raw, text in
    guard let text else { return }
    text.withMemoryRebound(to: UInt8.self, capacity: strlen(text)) {
        Context.from(raw).message(UnsafeBufferPointer(start: $0, count: strlen(text)))
    }
}

import Glibc
