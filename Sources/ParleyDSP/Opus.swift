import COpus
import CParleyShims

/// Opus errors, by libopus code.
public struct OpusError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public var description: String { "opus: " + String(cString: opus_strerror(code)) }
}

/// Mono Opus encoder for voice (the WebRTC transports). Buffers are the caller's;
/// `encode` does not allocate.
public final class OpusVoiceEncoder: @unchecked Sendable {
    public let rate: Int
    /// Samples per 20 ms frame at `rate`.
    public let frameSamples: Int
    private let encoder: OpaquePointer

    public init(rate: Int = 48000, bitrate: Int = 24000, complexity: Int = 5) throws(OpusError) {
        var err: Int32 = 0
        guard let encoder = opus_encoder_create(Int32(rate), 1, OPUS_APPLICATION_VOIP, &err), err == OPUS_OK else {
            throw OpusError(code: err)
        }
        self.encoder = encoder
        self.rate = rate
        frameSamples = rate / 50
        for rc in [CParley_opus_set_bitrate(encoder, Int32(bitrate)),
                   CParley_opus_set_complexity(encoder, Int32(complexity)),
                   CParley_opus_set_signal_voice(encoder)] where rc != OPUS_OK {
            opus_encoder_destroy(encoder)
            throw OpusError(code: rc)
        }
    }

    deinit { opus_encoder_destroy(encoder) }

    public var bitrate: Int {
        var value: Int32 = 0
        _ = CParley_opus_get_bitrate(encoder, &value)
        return Int(value)
    }

    /// Encodes one 20 ms frame into `packet`; returns the packet length.
    public func encode(_ frame: UnsafePointer<Int16>, into packet: UnsafeMutableBufferPointer<UInt8>) throws(OpusError)
        -> Int
    {
        guard let out = packet.baseAddress else { throw OpusError(code: OPUS_BUFFER_TOO_SMALL) }
        let n = opus_encode(encoder, frame, Int32(frameSamples), out, Int32(packet.count))
        guard n >= 0 else { throw OpusError(code: n) }
        return Int(n)
    }
}

/// Mono Opus decoder; a lost packet is concealed (`decode(nil)`).
public final class OpusVoiceDecoder: @unchecked Sendable {
    public let rate: Int
    private let decoder: OpaquePointer

    public init(rate: Int = 48000) throws(OpusError) {
        var err: Int32 = 0
        guard let decoder = opus_decoder_create(Int32(rate), 1, &err), err == OPUS_OK else { throw OpusError(code: err) }
        self.decoder = decoder
        self.rate = rate
    }

    deinit { opus_decoder_destroy(decoder) }

    /// Decodes a packet (nil: conceal one lost frame) into `pcm`; returns samples written.
    public func decode(_ packet: UnsafeBufferPointer<UInt8>?, into pcm: UnsafeMutableBufferPointer<Int16>)
        throws(OpusError) -> Int
    {
        guard let out = pcm.baseAddress else { throw OpusError(code: OPUS_BUFFER_TOO_SMALL) }
        let n = opus_decode(decoder, packet?.baseAddress, Int32(packet?.count ?? 0), out, Int32(pcm.count), 0)
        guard n >= 0 else { throw OpusError(code: n) }
        return Int(n)
    }

    public func reset() { _ = CParley_opus_reset_decoder(decoder) }
}
