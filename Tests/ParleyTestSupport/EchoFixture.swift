import Glibc

/// Speech fixtures made at test time with espeak-ng and sox (24 kHz mono PCM16), and a
/// simulated echo path: far-end speech through a room (bulk delay + decaying reflections)
/// plus noise, near-end speech from another voice.
public enum EchoFixture {
    public static let rate = 24000

    public static func speech(voice: String, text: String) -> [Float] {
        let dir = "/tmp/parley-fixture-\(getpid())"
        mkdir(dir, 0o755)
        let wav = "\(dir)/\(String(voice.map { $0 == "+" ? "_" : $0 })).wav"
        let raw = wav + ".raw"
        let cmd = "espeak-ng -v '\(voice)' -s 160 -w '\(wav)' '\(text)' && sox '\(wav)' -r 24000 -c 1 -b 16 -e signed-integer -t raw '\(raw)'"
        precondition(system(cmd) == 0, "fixture generation failed: \(cmd)")
        let fd = open(raw, O_RDONLY)
        defer { close(fd); _ = system("rm -rf '\(dir)'") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while case let n = read(fd, &chunk, chunk.count), n > 0 { bytes += chunk[0..<n] }
        return stride(from: 0, to: bytes.count - 1, by: 2).map {
            Float(Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8))
        }
    }

    /// The far end: an assistant's instructions (en-us).
    public static func farSpeech() -> [Float] {
        speech(voice: "en-us",
               text: "The compressor on unit four is short cycling. Check the low pressure switch and the capacitor before you replace the contactor. Then measure the superheat.")
    }

    /// The near end: a technician answering (en-gb, female).
    public static func nearSpeech() -> [Float] {
        speech(voice: "en-gb+f3",
               text: "I already replaced the capacitor yesterday and the reading is still low on the suction side.")
    }

    /// Loops `x` to `count` samples.
    public static func looped(_ x: [Float], count: Int) -> [Float] {
        (0..<count).map { x[$0 % x.count] }
    }

    public static func scaled(_ x: [Float], toRMS target: Float) -> [Float] {
        let rms = (x.reduce(0) { $0 + $1 * $1 } / Float(max(1, x.count))).squareRoot()
        return x.map { $0 * target / max(rms, 1) }
    }

    /// A room: bulk delay, then 80 reflections decaying with RT60 `rt60` over `length`
    /// seconds (sparse, so the convolution stays cheap in a debug build).
    public static func room(delayMilliseconds: Int, rt60: Float = 0.15, length: Float = 0.12, seed: UInt64 = 1234)
        -> [(offset: Int, gain: Float)]
    {
        var rng = SplitMix(seed: seed)
        let start = rate * delayMilliseconds / 1000
        var taps: [(Int, Float)] = [(start, 0.5)]
        for _ in 0..<80 {
            let t = Float(rng.next() % 10_000) / 10_000 * length
            let decay = powf(10, -3 * t / rt60)
            let sign: Float = rng.next() % 2 == 0 ? 1 : -1
            taps.append((start + Int(t * Float(rate)), sign * 0.25 * decay * Float(rng.next() % 1000) / 1000))
        }
        return taps
    }

    public static func convolve(_ x: [Float], _ taps: [(offset: Int, gain: Float)]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for (offset, gain) in taps where offset < x.count {
            for i in offset..<x.count { y[i] += gain * x[i - offset] }
        }
        return y
    }

    public static func noise(count: Int, rms: Float, seed: UInt64 = 99) -> [Float] {
        var rng = SplitMix(seed: seed)
        return (0..<count).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * rms * 1.732 }
    }

    public static func pcm(_ x: [Float]) -> [Int16] { x.map { Int16(clamping: Int(max(-32768, min(32767, $0.rounded())))) } }
}
