import Foundation
import Testing
@testable import ParleyDSP

@Suite struct EarconTests {
    @Test func rendersTonesAndPausesAtTheirLengthAndPitch() {
        let s = Earcon.render([Tone(1000, milliseconds: 100), Tone(0, milliseconds: 50)], rate: 24000, amplitude: 0.5)
        #expect(s.count == 3600)
        #expect(s[2400...].allSatisfy { $0 == 0 })
        let body = s[240..<2160]  // inside the fades
        let peak = body.map { abs(Int($0)) }.max() ?? 0
        #expect(abs(peak - 16384) < 100)
        var crossings = 0
        for i in body.indices.dropFirst() where body[i - 1] < 0 && body[i] >= 0 { crossings += 1 }
        #expect((79...80).contains(crossings))  // 1 kHz over 80 ms
    }

    @Test func fadesInAndOutWithoutAClick() {
        let s = Earcon.render([Tone(1000, milliseconds: 60)], rate: 24000, amplitude: 1)
        #expect(abs(Int(s.first!)) < 50 && abs(Int(s.last!)) < 1500)
        let steps = zip(s, s.dropFirst()).map { abs(Int($0) - Int($1)) }
        #expect(steps.max()! < 9000)  // no jump bigger than a 1 kHz full-scale sine's slope
    }
}

@Suite struct WAVFileTests {
    /// A WAV file as a recorder writes it: RIFF header, a LIST chunk to skip, fmt, data.
    static func wav(rate: Int, channels: Int, bits: Int = 16, frames: [[Int16]]) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        let data = frames.flatMap { $0.flatMap { le16(Int(UInt16(bitPattern: $0))) } }
        let list = Array("LIST".utf8) + le32(3) + Array("abc".utf8) + [0]  // odd size: padded
        let fmt = Array("fmt ".utf8) + le32(16) + le16(1) + le16(channels) + le32(rate)
            + le32(rate * channels * bits / 8) + le16(channels * bits / 8) + le16(bits)
        let body = Array("WAVE".utf8) + list + fmt + Array("data".utf8) + le32(data.count) + data
        return Array("RIFF".utf8) + le32(body.count) + body
    }

    @Test func stereoIsAveragedToMono() throws {
        let file = try WAVFile(bytes: Self.wav(rate: 48000, channels: 2, frames: [[100, 300], [-200, -400]]))
        #expect(file.rate == 48000)
        #expect(file.samples == [200, -300])
    }

    @Test func resamplingKeepsTheDuration() throws {
        let tone = (0..<4410).map { [Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / 44100))] }
        let file = try WAVFile(bytes: Self.wav(rate: 44100, channels: 1, frames: tone))
        let out = file.resampled(to: 24000)
        #expect(abs(out.count - 2400) < 60)
    }

    @Test func refusalsSayWhatIsWrong() {
        #expect(throws: WAVFile.FormatError.self) { try WAVFile(bytes: Array("not a wav at all".utf8)) }
        do {
            _ = try WAVFile(bytes: Self.wav(rate: 48000, channels: 1, bits: 24, frames: []))
            Issue.record("24-bit accepted")
        } catch {
            #expect(error.description.contains("need 16-bit PCM"))
        }
    }
}
