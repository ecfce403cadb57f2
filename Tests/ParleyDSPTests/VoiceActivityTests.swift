import ParleyTestSupport
import Glibc
import Testing
@testable import ParleyDSP

@Suite struct VoiceActivityTests {
    func run(_ detector: inout VoiceActivityDetector, amplitude: Float, frames: Int, noise: Float = 20) -> [Bool] {
        var rng = SplitMix(seed: 7)
        var flags: [Bool] = []
        for f in 0..<frames {
            let frame: [Int16] = (0..<240).map { i in
                let t = Float(f * 240 + i) / 24000
                let n = (Float(rng.next() % 2001) / 1000 - 1) * noise
                return Int16(amplitude * sinf(2 * .pi * 220 * t) + n)
            }
            flags.append(frame.withUnsafeBufferPointer { detector.update($0.baseAddress!, count: 240) })
        }
        return flags
    }

    @Test func speechOverNoiseIsFlaggedAndNoiseIsNot() {
        var vad = VoiceActivityDetector()
        let quiet = run(&vad, amplitude: 0, frames: 200)
        #expect(quiet.suffix(100).allSatisfy { !$0 })
        let speech = run(&vad, amplitude: 3000, frames: 50)
        #expect(speech.allSatisfy { $0 })
        let after = run(&vad, amplitude: 0, frames: 40)
        #expect(after.prefix(20).allSatisfy { $0 })   // hangover
        #expect(after.suffix(10).allSatisfy { !$0 })
    }

    @Test func steadyLoudNoiseBecomesTheFloor() {
        var vad = VoiceActivityDetector()
        // A van at speed: loud broadband noise, no speech. The floor climbs to it.
        let flags = run(&vad, amplitude: 0, frames: 3000, noise: 3000)
        #expect(flags.suffix(500).filter { $0 }.count < 25)
    }
}
