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
