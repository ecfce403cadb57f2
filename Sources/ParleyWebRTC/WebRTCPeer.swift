import CGStreamer
import CParleyWebRTC
import FoundationEssentials
import Synchronization

/// One WebRTC call on GStreamer's webrtcbin, offering side: our microphone as Opus out, the
/// remote Opus track decoded to 24 kHz PCM in, and one data channel for JSON text.
///
/// Made for the snags of webrtcbin 1.22 (notes/webrtc-gstreamer.md): the codec is set on the
/// transceiver so the offer needs no audio first; DTLS uses an ECDSA certificate (peers such
/// as aiortc offer ECDSA suites only) whose fingerprint we write into the offer ourselves;
/// webrtcbin does not check the peer's certificate against the answer: `verifyRemoteCertificate`
/// does. GStreamer calls back on its own threads; everything arrives here in `events`.
public final class WebRTCPeer: @unchecked Sendable {
    public struct Settings: Sendable {
        /// Data channel label (OpenAI: "oai-events").
        public var channelLabel: String
        /// Host candidates only on these addresses; empty: every interface libnice finds.
        public var localAddresses: [String]
        /// The receive jitter buffer (webrtcbin's default 200 ms is a long wait for speech).
        public var latencyMilliseconds: Int
        public var opusBitrate: Int

        public init(channelLabel: String = "oai-events", localAddresses: [String] = [], latencyMilliseconds: Int = 50,
                    opusBitrate: Int = 32000) {
            self.channelLabel = channelLabel
            self.localAddresses = localAddresses
            self.latencyMilliseconds = latencyMilliseconds
            self.opusBitrate = opusBitrate
        }
    }

    public enum Event: Sendable, Equatable {
        case state(PeerState)
        case channelOpen
        case channelClosed
        case message(String)
        /// Remote audio, 24 kHz mono PCM16.
        case audio([Int16])
        /// The pipeline or the channel failed; the call is over.
        case failure(String)
    }

    /// webrtcbin's connection state (ICE and DTLS together).
    public enum PeerState: Int32, Sendable {
        case new = 0, connecting, connected, disconnected, failed, closed
    }

    /// Audio both ways is 24 kHz mono, the Realtime API's rate and our capture chain's.
    public static let sampleRate = 24000
    /// webrtcbin 1.22 announces no max-message-size and cannot send more than this.
    public static let maxMessageBytes = 65536

    public let events: AsyncStream<Event>
    private let context: Context
    private let pipeline: UnsafeMutablePointer<GstElement>
    private let webrtc: UnsafeMutablePointer<GstElement>
    private let microphone: UnsafeMutablePointer<GstElement>
    private let channel: UnsafeMutablePointer<GObject>
    private let certificate: (pem: String, fingerprint: String)
    /// The answer's SHA-256 fingerprints, once accepted.
    private let expectedFingerprints = Mutex<Set<String>?>(nil)
    /// Samples pushed since the start: the timestamps of the outgoing stream, and what the
    /// silence pump measures against the clock.
    private let pushed = Mutex<Int>(0)
    private let started = ContinuousClock.now
    private let closed = Atomic<Bool>(false)
    private var pump: Task<Void, Never>?

    public init(settings: Settings) throws(WebRTCError) {
        if let reason = CParley_gst_init() { throw WebRTCError(.unavailable, take(reason)) }
        guard let pem = CParley_ecdsa_certificate_pem().map(take),
              let fingerprint = CParley_certificate_fingerprint(pem).map(take) else {
            throw WebRTCError(.unavailable, "cannot make a DTLS certificate (OpenSSL)")
        }
        certificate = (pem, fingerprint)
        let description = """
            webrtcbin name=webrtc bundle-policy=max-bundle latency=\(settings.latencyMilliseconds) \
            appsrc name=microphone is-live=true format=time do-timestamp=false \
            caps=audio/x-raw,format=S16LE,rate=\(Self.sampleRate),channels=1,layout=interleaved \
            ! audioconvert ! audioresample ! audio/x-raw,rate=48000 \
            ! opusenc bitrate=\(settings.opusBitrate) frame-size=20 audio-type=voice \
            ! rtpopuspay pt=111 ! \(Self.opusCaps) ! webrtc.
            """
        var parseError: UnsafeMutablePointer<GError>?
        guard let pipeline = gst_parse_launch(description, &parseError) else {
            let reason = parseError.map { String(cString: $0.pointee.message) } ?? "unknown"
            g_clear_error(&parseError)
            throw WebRTCError(.unavailable, "cannot build the WebRTC pipeline (is gstreamer1.0-plugins-bad installed?): \(reason)")
        }
        g_clear_error(&parseError)  // a warning-level parse error still builds
        self.pipeline = pipeline
        let bin = UnsafeMutableRawPointer(pipeline).assumingMemoryBound(to: GstBin.self)
        guard let webrtc = gst_bin_get_by_name(bin, "webrtc"), let microphone = gst_bin_get_by_name(bin, "microphone") else {
            gst_object_unref(pipeline)
            throw WebRTCError(.unavailable, "the WebRTC pipeline lacks its elements")
        }
        self.webrtc = webrtc
        self.microphone = microphone
        (events, context) = Context.make()

        _ = CParley_pipeline_use_dtls_pem(pipeline, certificate.pem)
        CParley_pipeline_watch_errors(pipeline, onFailure, context.retained(), releaseContext)
        let addresses = settings.localAddresses.map { strdup($0) } + [nil]
        addresses.withUnsafeBufferPointer { CParley_webrtc_restrict_candidates(webrtc, $0.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) }) }
        addresses.forEach { free($0) }
        _ = CParley_webrtc_set_codec(webrtc, Self.opusCaps)
        _ = CParley_webrtc_receive_audio(pipeline, webrtc, Int32(Self.sampleRate), onSamples, onFailure,
                                         context.retained(), releaseContext)
        let webrtcObject = UnsafeMutableRawPointer(webrtc).assumingMemoryBound(to: GObject.self)
        _ = CParley_notify_int(webrtcObject, "connection-state", onState, context.retained(), releaseContext)
        _ = CParley_notify_int(webrtcObject, "ice-gathering-state", onGathering, context.retained(), releaseContext)
        // webrtcbin takes a data channel once it is out of NULL.
        guard gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE else {
            Self.teardown(pipeline, webrtc, microphone)
            throw WebRTCError(.unavailable, "the WebRTC pipeline did not start")
        }
        guard let channel = CParley_webrtc_create_data_channel(webrtc, settings.channelLabel) else {
            Self.teardown(pipeline, webrtc, microphone)
            throw WebRTCError(.unavailable, "webrtcbin made no data channel")
        }
        self.channel = channel
        CParley_data_channel_connect(channel, onOpen, onClose, onMessage, onFailure, context.retained(), releaseContext)
    }

    deinit { close() }

    /// GStreamer, its registry and every plugin a call uses (webrtcbin, libnice, DTLS, SCTP,
    /// Opus) loaded, and libnice's first gathering done, by an offer made on a call that is
    /// then closed unsent: the first call costs what the later ones do. Throws what that
    /// first call would.
    public static func prepare(settings: Settings) async throws(WebRTCError) {
        let peer = try WebRTCPeer(settings: settings)
        defer { peer.close() }
        _ = try await peer.makeOffer()
    }

    static let opusCaps = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"

    /// Our offer, once ICE gathering is over (no trickle: the relays take one SDP body).
    public func makeOffer(gatheringTimeout: Duration = .seconds(5)) async throws(WebRTCError) -> String {
        let done = Completion()
        CParley_webrtc_create_offer(webrtc, onCompletion, Unmanaged.passRetained(done).toOpaque(), releaseCompletion)
        if let reason = await done.wait() { throw WebRTCError(.negotiation, "create-offer: \(reason)") }
        startPump()
        await context.gatheringComplete(within: gatheringTimeout)
        guard let sdp = CParley_webrtc_local_sdp(webrtc).map(take) else {
            throw WebRTCError(.negotiation, "webrtcbin has no local description")
        }
        return SessionDescription.replacingFingerprint(in: sdp, with: certificate.fingerprint)
    }

    /// Sets the answer; media and the channel follow (see `events`).
    public func accept(answer: String) async throws(WebRTCError) {
        guard let fingerprints = SessionDescription.fingerprints(in: answer) else {
            throw WebRTCError(.negotiation, "the answer has no a=fingerprint:sha-256 line")
        }
        expectedFingerprints.withLock { $0 = fingerprints }
        let done = Completion()
        CParley_webrtc_set_answer(webrtc, answer, onCompletion, Unmanaged.passRetained(done).toOpaque(), releaseCompletion)
        if let reason = await done.wait() { throw WebRTCError(.negotiation, "set-remote-description: \(reason)") }
    }

    /// Checks the certificate the peer presented in the DTLS handshake against the answer's
    /// fingerprint (webrtcbin does not). Call once the state is `.connected`.
    public func verifyRemoteCertificate() throws(WebRTCError) {
        guard let expected = expectedFingerprints.withLock({ $0 }) else {
            throw WebRTCError(.certificate, "no answer accepted")
        }
        guard let pem = CParley_webrtc_remote_certificate(webrtc).map(take),
              let presented = CParley_certificate_fingerprint(pem).map(take) else {
            throw WebRTCError(.certificate, "the peer presented no DTLS certificate")
        }
        guard expected.contains(presented) else {
            throw WebRTCError(.certificate, "the peer's DTLS certificate (\(presented.prefix(23))…) is not the one the answer announced")
        }
    }

    /// Sends one text message on the data channel.
    public func send(_ text: String) throws(WebRTCError) {
        guard text.utf8.count <= Self.maxMessageBytes else {
            throw WebRTCError(.messageTooLarge, "a \(text.utf8.count)-byte message is over the data channel's \(Self.maxMessageBytes)")
        }
        guard !closed.load(ordering: .acquiring) else { throw WebRTCError(.closed, "the call is over") }
        CParley_data_channel_send(channel, text)
    }

    /// Microphone audio, 24 kHz mono; between pushes the stream carries silence.
    public func pushAudio(_ samples: [Int16]) {
        guard !samples.isEmpty else { return }
        push(samples)
    }

    private func push(_ samples: [Int16]) {
        pushed.withLock { count in
            guard !closed.load(ordering: .acquiring) else { return }
            // Timestamps from the sample count, exact (41,666.67 ns a sample would drift if rounded).
            let pts = UInt64(count) * 1_000_000_000 / UInt64(Self.sampleRate)
            let end = UInt64(count + samples.count) * 1_000_000_000 / UInt64(Self.sampleRate)
            samples.withUnsafeBufferPointer {
                _ = CParley_appsrc_push_pcm(microphone, $0.baseAddress, $0.count, pts, end - pts)
            }
            count += samples.count
        }
    }

    /// Keeps the outgoing stream continuous: when the microphone has pushed nothing for a while
    /// (between turns), silence up to 20 ms behind the clock.
    private func startPump() {
        guard pump == nil else { return }
        pump = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
                guard let self, !self.closed.load(ordering: .acquiring) else { return }
                let due = Int((ContinuousClock.now - self.started) / .milliseconds(1)) * Self.sampleRate / 1000
                let behind = due - self.pushed.withLock { $0 }
                if behind > Self.sampleRate / 25 { self.push([Int16](repeating: 0, count: behind - Self.sampleRate / 50)) }
            }
        }
    }

    /// Ends the call: the pipeline stops (its threads join), every handler lets go of the context.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pump?.cancel()
        CParley_data_channel_close(channel)
        g_object_unref(channel)
        Self.teardown(pipeline, webrtc, microphone)
        context.finish()
    }

    private static func teardown(_ pipeline: UnsafeMutablePointer<GstElement>, _ webrtc: UnsafeMutablePointer<GstElement>,
                                 _ microphone: UnsafeMutablePointer<GstElement>) {
        gst_element_set_state(pipeline, GST_STATE_NULL)
        gst_object_unref(webrtc)
        gst_object_unref(microphone)
        gst_object_unref(pipeline)
    }
}

public struct WebRTCError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unavailable, negotiation, certificate, messageTooLarge, closed }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// A g_malloc'd C string as a Swift string, freed.
private func take(_ text: UnsafeMutablePointer<CChar>) -> String {
    defer { g_free(text) }
    return String(cString: text)
}
