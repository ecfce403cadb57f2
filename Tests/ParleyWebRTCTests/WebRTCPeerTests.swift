import Foundation
import Testing
@testable import ParleyWebRTC

/// webrtcbin itself, no remote peer: offers, certificates, teardown.
@Suite(.serialized) struct WebRTCPeerTests {
    /// Threads of this process named `name` (GStreamer names its threads after their task).
    static func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
            .hasPrefix(name) == true }.count
    }

    static func openFileCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 0 }

    @Test func offerCarriesAudioChannelCandidatesAndOurFingerprint() async throws {
        let peer = try WebRTCPeer(settings: .init(localAddresses: ["127.0.0.1"]))
        defer { peer.close() }
        let offer = try await peer.makeOffer()
        #expect(offer.contains("m=audio"))
        #expect(offer.uppercased().contains("OPUS/48000"))
        #expect(offer.contains("webrtc-datachannel"))
        #expect(offer.contains("a=setup:actpass"))
        #expect(offer.contains("127.0.0.1"))
        let fingerprints = SessionDescription.fingerprints(in: offer) ?? []
        #expect(fingerprints.count == 1)
        #expect(fingerprints.first?.count == 32 * 3 - 1)
    }

    @Test func closedPeersLeaveNoThreadsOrDescriptors() async throws {
        // One first: GStreamer's registry and pools stay for the process.
        let first = try WebRTCPeer(settings: .init(localAddresses: ["127.0.0.1"]))
        _ = try await first.makeOffer()
        first.close()
        try await Task.sleep(for: .milliseconds(200))
        let threads = Self.threads(named: "webrtc"), files = Self.openFileCount()
        for _ in 0..<5 {
            let peer = try WebRTCPeer(settings: .init(localAddresses: ["127.0.0.1"]))
            _ = try await peer.makeOffer()
            peer.close()
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.threads(named: "webrtc") == threads)
        #expect(Self.openFileCount() <= files + 1)
    }
}
