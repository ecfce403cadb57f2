/// A RIFF/WAVE file of 16-bit PCM, read into mono samples (pure: bytes in, samples out).
/// Enough for cue sounds; anything else is refused with what it is and what would do.
public struct WAVFile: Sendable, Equatable {
    public var rate: Int
    /// Mono: stereo (or more) is averaged.
    public var samples: [Int16]

    public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public init(rate: Int, samples: [Int16]) {
        self.rate = rate
        self.samples = samples
    }

    public init(bytes: [UInt8]) throws(FormatError) {
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func tag(_ at: Int) -> String { String(decoding: bytes[at..<at + 4], as: UTF8.self) }
        guard bytes.count >= 12, tag(0) == "RIFF", tag(8) == "WAVE" else {
            throw FormatError("not a WAV file (no RIFF/WAVE header)")
        }
        var format: (channels: Int, rate: Int, bits: Int, code: Int)?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = tag(offset), size = u32(offset + 4), body = offset + 8
            guard body + size <= bytes.count || id == "data" else { throw FormatError("chunk \"\(id)\" runs past the end of the file") }
            switch id {
            case "fmt ":
                guard size >= 16 else { throw FormatError("fmt chunk too short") }
                format = (u16(body + 2), u32(body + 4), u16(body + 14), u16(body))
            case "data":
                guard let format else { throw FormatError("data before fmt chunk") }
                // 1 = PCM; 0xFFFE = WAVE_FORMAT_EXTENSIBLE (its subformat is assumed PCM when 16-bit).
                guard format.code == 1 || format.code == 0xFFFE, format.bits == 16 else {
                    throw FormatError("\(format.bits)-bit format \(format.code) (need 16-bit PCM: sox in.wav -b 16 -e signed out.wav)")
                }
                guard (1...8).contains(format.channels), (8000...192_000).contains(format.rate) else {
                    throw FormatError("\(format.channels) channels at \(format.rate) Hz is not usable")
                }
                // A truncated data chunk (a recorder killed mid-write) keeps what is there.
                let end = min(bytes.count, body + size)
                let frames = (end - body) / (2 * format.channels)
                var mono = [Int16](repeating: 0, count: frames)
                for frame in 0..<frames {
                    var sum = 0
                    for channel in 0..<format.channels {
                        sum += Int(Int16(bitPattern: UInt16(u16(body + 2 * (frame * format.channels + channel)))))
                    }
                    mono[frame] = Int16(sum / format.channels)
                }
                self.init(rate: format.rate, samples: mono)
                return
            default:
                break
            }
            offset = body + size + (size & 1)  // chunks are word-aligned
        }
        throw FormatError(format == nil ? "no fmt chunk" : "no data chunk")
    }

    /// The samples at `outputRate` (speexdsp resampler), for the cue ring.
    public func resampled(to outputRate: Int) -> [Int16] {
        Resampler.convert(samples, from: rate, to: outputRate)
    }
}
