import Glibc
import Testing
@testable import ParleyDSP

@Suite struct OpusTests {
    @Test func voiceSurvivesARoundTrip() throws {
        let encoder = try OpusVoiceEncoder(rate: 48000, bitrate: 24000)
        let decoder = try OpusVoiceDecoder(rate: 48000)
        #expect(encoder.bitrate == 24000)
        let seconds = 1
        let input = (0..<(48000 * seconds)).map { Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / 48000)) }
        var output: [Int16] = []
        var packet = [UInt8](repeating: 0, count: 1500)
        var pcm = [Int16](repeating: 0, count: 960)
        var bytes = 0
        for start in stride(from: 0, to: input.count, by: 960) {
            let length = try input.withUnsafeBufferPointer { i in
                try packet.withUnsafeMutableBufferPointer { try encoder.encode(i.baseAddress! + start, into: $0) }
            }
            bytes += length
            let n = try packet.withUnsafeBufferPointer { p in
                try pcm.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeBufferPointer(rebasing: p[0..<length]), into: $0) }
            }
            output += pcm[0..<n]
        }
        #expect(output.count == input.count)
        #expect(Double(bytes * 8) / Double(seconds) < 30000)  // about the bitrate asked for
        // Same tone, same level (codec delay: compare at the best lag).
        let window = 24000..<40000
        let best = (0..<480).map { lag in
            window.reduce(0.0) { $0 + Double(input[$1 - lag]) * Double(output[$1]) }
        }.max()!
        let energy = window.reduce(0.0) { $0 + Double(input[$1]) * Double(input[$1]) }
        #expect(best / energy > 0.9)
    }

    @Test func lostPacketIsConcealed() throws {
        let decoder = try OpusVoiceDecoder()
        var pcm = [Int16](repeating: 1, count: 960)
        let n = try pcm.withUnsafeMutableBufferPointer { try decoder.decode(nil, into: $0) }
        #expect(n == 960)
    }

    @Test func badPacketIsAnErrorNotACrash() throws {
        let decoder = try OpusVoiceDecoder()
        let garbage: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0x00]
        var pcm = [Int16](repeating: 0, count: 960)
        #expect(throws: OpusError.self) {
            try garbage.withUnsafeBufferPointer { g in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(g, into: $0) } }
        }
    }
}
