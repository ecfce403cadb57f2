import FoundationEssentials

/// 24 kHz mono PCM16 little-endian as base64, the Realtime API's audio encoding.
public enum PCM16 {
    public static func base64(_ samples: ArraySlice<Int16>) -> String {
        var data = Data(capacity: samples.count * 2)
        for s in samples {
            let u = UInt16(bitPattern: s)
            data.append(UInt8(truncatingIfNeeded: u))
            data.append(UInt8(truncatingIfNeeded: u >> 8))
        }
        return data.base64EncodedString()
    }

    /// Nil when the text is not base64 or holds an odd number of bytes.
    public static func samples(base64 text: String) -> [Int16]? {
        guard let data = Data(base64Encoded: text), data.count % 2 == 0 else { return nil }
        let bytes = [UInt8](data)
        var samples = [Int16](repeating: 0, count: bytes.count / 2)
        for i in samples.indices {
            samples[i] = Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8)
        }
        return samples
    }

    /// Milliseconds of 24 kHz audio.
    public static func milliseconds(samples: Int) -> Int { samples / 24 }
}
