import Synchronization

/// Lock-free single-producer/single-consumer ring of PCM16 samples, the only way audio
/// crosses between an audio thread and the control plane. Storage is allocated once;
/// push and pop never allocate, lock or block. Positions only grow (wrapping at 2^64):
/// the producer owns `tail`, the consumer owns `head`; release stores publish the samples,
/// acquire loads see them (the spa_ringbuffer discipline).
public final class SampleRing: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Int16>
    private let mask: Int
    public let capacity: Int
    private let head = Atomic<Int>(0)  // next to read; written by the consumer only
    private let tail = Atomic<Int>(0)  // next to write; written by the producer only
    private let flushMark = Atomic<Int>(0)  // drop up to here; written by the producer only
    private let flushes = Atomic<Int>(0)  // flush requests made; written by the producer only
    private let flushesSeen = Atomic<Int>(0)  // flush requests carried out; the consumer's own
    /// Debug builds check the one-producer/one-consumer rule (as NIO's NIOLoopBound checks its
    /// loop): a side entered while it is already inside is a second producer or consumer.
    private let producing = OwnerCheck(role: "producer")
    private let consuming = OwnerCheck(role: "consumer")
    /// Signalled on `flush()`, so a consumer waiting for its next period carries it out at
    /// once, and on a push while the consumer dozes (`doze`), so audio starts at once.
    private let wake: EventFD?
    /// The consumer waits several periods at a time (an idle speaker): a push wakes it.
    private let dozing = Atomic<Bool>(false)

    /// Capacity is rounded up to a power of two.
    public init(minimumCapacity: Int, wake: EventFD? = nil) {
        self.wake = wake
        var size = 1
        while size < minimumCapacity { size <<= 1 }
        capacity = size
        mask = size - 1
        storage = .allocate(capacity: size)
        storage.initialize(repeating: 0, count: size)
    }

    deinit { storage.deallocate() }

    public var availableToRead: Int { tail.load(ordering: .acquiring) &- head.load(ordering: .acquiring) }
    public var availableToWrite: Int { capacity - availableToRead }

    /// Producer: writes as many samples as fit; returns how many.
    @discardableResult
    public func push(_ samples: UnsafeBufferPointer<Int16>) -> Int {
        producing.enter()
        defer { producing.leave() }
        let t = tail.load(ordering: .relaxed)
        let free = capacity - (t &- head.load(ordering: .acquiring))
        let n = min(free, samples.count)
        guard n > 0, let base = samples.baseAddress else { return 0 }
        let start = t & mask
        let first = min(n, capacity - start)
        (storage + start).update(from: base, count: first)
        if n > first { storage.update(from: base + first, count: n - first) }
        tail.store(t &+ n, ordering: .releasing)
        // Dekker with `doze`: the tail store is ordered before the flag's load, so either the
        // consumer sees these samples before it sleeps, or this sees it dozing and wakes it.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if dozing.load(ordering: .relaxed) && dozing.exchange(false, ordering: .relaxed) { wake?.signal() }
        return n
    }

    /// Consumer: about to wait several periods (true; then look at `availableToRead` once
    /// more before sleeping), or awake again (false).
    @inline(__always) func doze(_ on: Bool) {
        dozing.store(on, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Consumer: reads up to `into.count` samples; returns how many.
    @discardableResult
    public func pop(into buffer: UnsafeMutableBufferPointer<Int16>) -> Int {
        consuming.enter()
        defer { consuming.leave() }
        let h = head.load(ordering: .relaxed)
        let available = tail.load(ordering: .acquiring) &- h
        let n = min(available, buffer.count)
        guard n > 0, let base = buffer.baseAddress else { return 0 }
        let start = h & mask
        let first = min(n, capacity - start)
        base.update(from: storage + start, count: first)
        if n > first { (base + first).update(from: storage, count: n - first) }
        head.store(h &+ n, ordering: .releasing)
        return n
    }

    /// Consumer: drops up to `count` of the oldest samples; returns how many.
    @discardableResult
    public func discard(_ count: Int) -> Int {
        consuming.enter()
        defer { consuming.leave() }
        let h = head.load(ordering: .relaxed)
        let n = min(count, tail.load(ordering: .acquiring) &- h)
        head.store(h &+ n, ordering: .releasing)
        return n
    }

    /// Producer: asks the consumer to drop everything pushed so far (barge-in: stop what is
    /// queued for the speaker). The consumer owns `head`, so it does the dropping, in
    /// `applyFlush()`; audio pushed after this call is kept.
    public func flush() {
        producing.enter()
        defer { producing.leave() }
        flushMark.store(tail.load(ordering: .relaxed), ordering: .releasing)
        flushes.add(1, ordering: .releasing)
        wake?.signal()
    }

    /// Consumer: carries out a pending `flush()`; returns how many samples it dropped, or
    /// nil when no flush was asked for since the last call. 0 is a flush that found the
    /// ring already empty — the consumer may still hold that audio downstream (a device
    /// buffer) and should drop it too.
    @discardableResult
    public func applyFlush() -> Int? {
        consuming.enter()
        defer { consuming.leave() }
        let requested = flushes.load(ordering: .acquiring)
        guard requested != flushesSeen.load(ordering: .relaxed) else { return nil }
        flushesSeen.store(requested, ordering: .relaxed)
        let h = head.load(ordering: .relaxed)
        let dropped = flushMark.load(ordering: .acquiring) &- h
        guard dropped > 0 && dropped <= capacity else { return 0 }  // positions wrap: a stale mark is "behind"
        head.store(h &+ dropped, ordering: .releasing)
        return dropped
    }
}

/// One side of a ring, checked in debug builds: entering while it is already inside means a
/// second thread is on that side. Release builds compile it away.
struct OwnerCheck: ~Copyable {
    #if DEBUG
    private let inside = Atomic<Bool>(false)
    private let role: StaticString
    #endif

    init(role: StaticString) {
        #if DEBUG
        self.role = role
        #endif
    }

    @inline(__always) func enter() {
        #if DEBUG
        precondition(!inside.exchange(true, ordering: .acquiring), "SampleRing: a second \(role) at the same time")
        #endif
    }

    @inline(__always) func leave() {
        #if DEBUG
        inside.store(false, ordering: .releasing)
        #endif
    }
}

extension SampleRing {
    public func push(_ samples: [Int16]) -> Int { samples.withUnsafeBufferPointer { push($0) } }

    public func pop(maximum: Int) -> [Int16] {
        var out = [Int16](repeating: 0, count: min(maximum, availableToRead))
        let n = out.withUnsafeMutableBufferPointer { pop(into: $0) }
        out.removeLast(out.count - n)
        return out
    }
}
