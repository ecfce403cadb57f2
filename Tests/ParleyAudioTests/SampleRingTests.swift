import Glibc
import Testing
@testable import ParleyAudio

@Suite struct SampleRingTests {
    @Test func fifoAcrossTheWrap() {
        let ring = SampleRing(minimumCapacity: 6)
        #expect(ring.capacity == 8)
        #expect(ring.push([1, 2, 3, 4, 5]) == 5)
        #expect(ring.pop(maximum: 3) == [1, 2, 3])
        #expect(ring.push([6, 7, 8, 9, 10, 11]) == 6)  // wraps
        #expect(ring.push([12]) == 0)  // full: 8 readable
        #expect(ring.availableToRead == 8)
        #expect(ring.pop(maximum: 100) == [4, 5, 6, 7, 8, 9, 10, 11])
        #expect(ring.pop(maximum: 1) == [])
    }

    @Test func aFlushDropsWhatWasQueuedBeforeItAndKeepsWhatCameAfter() {
        let ring = SampleRing(minimumCapacity: 16)
        _ = ring.push([1, 2, 3])
        ring.flush()  // producer side: the consumer drops when it gets to it
        _ = ring.push([4])
        #expect(ring.applyFlush() == 3)
        #expect(ring.applyFlush() == nil)  // nothing asked since
        #expect(ring.pop(maximum: 4) == [4])
        // A flush the consumer already read past drops nothing from the ring, but is still
        // reported: the consumer drops what it passed downstream.
        _ = ring.push([5, 6])
        ring.flush()
        #expect(ring.pop(maximum: 4) == [5, 6])
        #expect(ring.applyFlush() == 0)
        #expect(ring.applyFlush() == nil)
    }

    /// A dozing consumer is woken by the first push (once), an awake one never: the idle
    /// speaker starts an answer or cue at once, and an answer's pushes cost no syscall.
    @Test func aPushWakesADozingConsumerOnce() {
        let wake = EventFD()
        let ring = SampleRing(minimumCapacity: 16, wake: wake)
        func signalled() -> Bool {
            var fd = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, 0) == 1 else { return false }
            wake.drain()
            return true
        }
        _ = ring.push([1])
        #expect(!signalled())
        ring.doze(true)
        _ = ring.push([2])
        #expect(signalled())
        _ = ring.push([3])
        #expect(!signalled())  // woken already: the consumer is on its way
        ring.doze(true)
        ring.doze(false)
        _ = ring.push([4])
        #expect(!signalled())
        ring.flush()
        #expect(signalled())
    }

    #if DEBUG
    /// Regression: the echo-delay probe pushed its sweep into the cue ring from a second
    /// producer beside the controller. Debug builds now stop such a ring at once.
    @Test func twoProducersAtOnceAreCaughtInDebugBuilds() async {
        await #expect(processExitsWith: .failure) {
            let ring = SampleRing(minimumCapacity: 1 << 12)
            let samples = [Int16](repeating: 1, count: 64)
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        for _ in 0..<5_000_000 { ring.push(samples) }  // full soon: still a push each time
                    }
                }
            }
        }
    }
    #endif

    @Test func concurrentProducerAndConsumerKeepOrder() async {
        let ring = SampleRing(minimumCapacity: 64)
        let total = 200_000
        let producer = Task.detached {
            var next = 0
            while next < total {
                let chunk = (next..<min(total, next + 37)).map { Int16(truncatingIfNeeded: $0) }
                let n = ring.push(chunk)
                next += n
                if n == 0 { await Task.yield() }
            }
        }
        var expected = 0
        var inOrder = true
        while expected < total {
            let got = ring.pop(maximum: 50)
            for s in got {
                if s != Int16(truncatingIfNeeded: expected) { inOrder = false }
                expected += 1
            }
            if got.isEmpty { await Task.yield() }
        }
        await producer.value
        #expect(inOrder)
    }
}
