import Glibc
import ParleyConfig
import Testing
import Synchronization
@testable import ParleyAudio

/// The real ALSA code path through libasound's file and null plugins (no sound card):
/// the engine captures a known signal and plays known frames.
@Suite(.serialized) struct ALSAEngineTests {
    let dir: String

    init() {
        var template = Array("/tmp/parley-alsa-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        dir = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func writeFile(_ name: String, _ bytes: [UInt8]) {
        let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func readSamples(_ name: String) -> [Int16] {
        let fd = open(dir + "/" + name, O_RDONLY)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return stride(from: 0, to: bytes.count - 1, by: 2).map { Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
    }

    static func sine(_ hz: Double, rate: Int, seconds: Double, amplitude: Double) -> [Int16] {
        (0..<Int(Double(rate) * seconds)).map { Int16(amplitude * sin(2 * .pi * hz * Double($0) / Double(rate))) }
    }

    static func rms(_ s: ArraySlice<Int16>) -> Double {
        (s.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, s.count))).squareRoot()
    }

    /// Frequency from rising zero crossings.
    static func frequency(_ s: ArraySlice<Int16>, rate: Int) -> Double {
        var crossings = 0
        var previous = s.first ?? 0
        for x in s.dropFirst() {
            if previous < 0 && x >= 0 { crossings += 1 }
            previous = x
        }
        return Double(crossings) * Double(rate) / Double(s.count)
    }

    /// The raw path: DSP off, so the signal arrives as it went in.
    func engine(_ extra: [String: String] = ["PARLEY_DSP__AEC": "false", "PARLEY_DSP__NOISE_SUPPRESSION": "false",
                                             "PARLEY_DSP__VAD": "false"]) throws -> AudioEngine {
        let rc = """
            pcm.tmic { type file slave.pcm "null" file "/dev/null" infile "\(dir)/mic.raw" format "raw" }
            pcm.tspk { type file slave.pcm "null" file "\(dir)/speaker.raw" format "raw" }
            """
        writeFile("asoundrc", Array(rc.utf8))
        setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf:\(dir)/asoundrc", 1)
        let settings = try LoadedConfig.load(
            paths: ConfigPaths(mainFile: "/nonexistent", dropInDirectory: "/nonexistent", mainFileRequired: false),
            environment: ["PARLEY_AUDIO__CAPTURE_DEVICE": "tmic", "PARLEY_AUDIO__PLAYBACK_DEVICE": "tspk",
                          "PARLEY_AUDIO__PACING": "clock", "PARLEY_AUDIO__VOLUME": "100",
                          "PARLEY_AUDIO__REALTIME_PRIORITY": "0"].merging(extra) { $1 }).settings
        return AudioEngine(settings: settings.audio, dsp: settings.dsp)
    }

    @Test func capturesAKnownSignalAs24kHzFrames() throws {
        let mic = Self.sine(1000, rate: 48000, seconds: 2, amplitude: 8000)
        writeFile("mic.raw", mic.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] })
        let audio = try engine()
        try audio.start()
        usleep(600_000)  // the audio threads are pthreads: a blocking wait is fine
        #expect(audio.stop())
        let captured = audio.captured.pop(maximum: 48000)
        // Paced by the clock: about 0.6 s of 24 kHz audio, not the whole file at once.
        #expect((12000...16800).contains(captured.count))
        let steady = captured[2400..<min(captured.count, 12000)]
        #expect(abs(Self.rms(steady) - 8000 / 2.0.squareRoot()) < 300)
        #expect(abs(Self.frequency(steady, rate: 24000) - 1000) < 15)
        #expect(audio.captureCounters.snapshot().heartbeat > 40)
        #expect(audio.captureCounters.snapshot().errors == 0)
    }

    @Test func playsFramesAndFillsGapsWithSilence() throws {
        writeFile("mic.raw", [])
        let audio = try engine()
        let tone = Self.sine(500, rate: 24000, seconds: 0.3, amplitude: 10000)
        #expect(audio.playback.push(tone) == tone.count)
        try audio.start()
        usleep(600_000)  // the audio threads are pthreads: a blocking wait is fine
        #expect(audio.stop())
        let out = readSamples("speaker.raw")  // 48 kHz mono
        #expect(out.count >= 48000 * 5 / 10)
        let body = out[4800..<14000]
        #expect(abs(Self.rms(body) - 10000 / 2.0.squareRoot()) < 400)
        #expect(abs(Self.frequency(body, rate: 48000) - 500) < 10)
        // After the tone: silence, not noise and not a repeated period.
        let after = out[16000..<min(out.count, 26000)]
        #expect(after.allSatisfy { $0 == 0 })
    }

    @Test func aShortAnswerWaitsForTheJitterBufferThenPlaysWhole() throws {
        writeFile("mic.raw", [])
        let audio = try engine(["PARLEY_DSP__AEC": "false", "PARLEY_AUDIO__JITTER_MS": "100"])
        let chunk = Self.sine(500, rate: 24000, seconds: 0.03, amplitude: 10000)  // less than the buffer
        _ = audio.playback.push(chunk)
        try audio.start()
        usleep(400_000)
        #expect(audio.stop())
        let out = readSamples("speaker.raw")
        let first = out.firstIndex { abs(Int($0)) > 500 } ?? out.count
        // Held about 100 ms, then played ahead of the silence already queued (taken back by
        // snd_pcm_rewind, one period kept). The file starts when the device buffer first filled
        // (40 ms in), so about 100 - 40 + 10 = 70 ms into it.
        #expect((2400...3800).contains(first))
        // All 30 ms of it (1440 samples at 48 kHz, 97% of a sine's above 500), once.
        #expect((1300...1440).contains(out.filter { abs(Int($0)) > 500 }.count))
        #expect(audio.playbackCounters.snapshot().ringMisses == 0)
    }

    @Test func cuesAreMixedOverTheVoiceAndSurviveABargeIn() throws {
        writeFile("mic.raw", [])
        let audio = try engine()
        let voice = Self.sine(500, rate: 24000, seconds: 0.4, amplitude: 6000)
        let cue = Self.sine(2000, rate: 24000, seconds: 0.4, amplitude: 6000)
        _ = audio.playback.push(voice)
        _ = audio.cues.push(cue)
        try audio.start()
        // Barge in 100 ms into the output, counted in what the playback thread wrote (not wall
        // time: a loaded machine delays this thread, and the paced loop then catches up).
        while audio.playbackCounters.snapshot().frames < 4800 { usleep(1000) }
        audio.playback.flush()  // barge-in drops the voice, not the cue
        usleep(500_000)
        #expect(audio.stop())
        let out = readSamples("speaker.raw")
        // Early on both play: the sum is louder than either alone.
        #expect(Self.rms(out[960..<3840]) > 6000 / 2.0.squareRoot() * 1.3)
        // After the barge-in only the cue is left: 2 kHz at its own level.
        let cueOnly = out[12000..<17000]
        #expect(abs(Self.rms(cueOnly) - 6000 / 2.0.squareRoot()) < 300)
        #expect(abs(Self.frequency(cueOnly, rate: 48000) - 2000) < 30)
    }

    @Test func aBargeInAfterTheRingRanDryStillSilencesTheDeviceBuffer() throws {
        writeFile("mic.raw", [])
        let audio = try engine(["PARLEY_DSP__AEC": "false", "PARLEY_AUDIO__BUFFER_PERIODS": "8"])  // 80 ms
        let voice = Self.sine(500, rate: 24000, seconds: 0.3, amplitude: 6000)
        _ = audio.playback.push(voice)
        try audio.start()
        // The end of the answer has left the ring: it is all in the device buffer now.
        while audio.playback.availableToRead > 0 { usleep(500) }
        audio.playback.flush()
        usleep(400_000)
        #expect(audio.stop())
        let out = readSamples("speaker.raw")
        // All of it would be 0.3 s × 48 kHz × 94.7 % (a sine's share above 500) ≈ 13 600
        // samples; the rewind takes back what the device held beyond one period (~50 ms).
        let heard = out.filter { abs(Int($0)) > 500 }.count
        #expect(heard < 12_400, "heard \(heard) voice samples after a barge-in at the end")
        #expect(heard > 9_000)
    }

    /// An idle device's audio threads wake once per 30 ms instead of every 10 ms period; audio
    /// pushed meanwhile wakes the speaker at once, and nothing is lost either way.
    @Test func anIdleSpeakerDozesAndWakesAtOnceForACueAndForVoice() throws {
        writeFile("mic.raw", [UInt8](repeating: 0, count: 48000 * 2 * 20))
        let audio = try engine()
        audio.doorbell.want(capturedSamples: 4800, drained: false)  // idle: no turn streams
        try audio.start()
        defer { _ = audio.stop() }
        while !audio.isDozing { usleep(10_000) }  // after 3 s of silence
        func wakeupsPerSecond(_ counters: AudioCounters) -> UInt64 {
            let before = counters.wakeups.load(ordering: .relaxed)
            usleep(1_000_000)
            return counters.wakeups.load(ordering: .relaxed) - before
        }
        #expect(wakeupsPerSecond(audio.playbackCounters) < 50)
        #expect(wakeupsPerSecond(audio.captureCounters) < 50)
        // Dozing, every period is still written and read: the file's length keeps up with time.
        let framesAtCue = audio.playbackCounters.snapshot().frames
        let cue = Self.sine(2000, rate: 24000, seconds: 0.2, amplitude: 6000)
        _ = audio.cues.push(cue)
        while audio.isDozing { usleep(1000) }
        usleep(400_000)
        // A turn: the capture thread reads every period again.
        audio.doorbell.want(capturedSamples: AudioFormat.frameSamples, drained: false)
        #expect(wakeupsPerSecond(audio.captureCounters) > 80)
        let framesAtVoice = audio.playbackCounters.snapshot().frames
        let voice = Self.sine(500, rate: 24000, seconds: 0.3, amplitude: 6000)
        _ = audio.playback.push(voice)
        usleep(600_000)
        #expect(audio.stop())
        let out = readSamples("speaker.raw")
        let loud = out.indices.filter { abs(Int(out[$0])) > 500 }
        let cueStart = try #require(loud.first)
        // Mixed within a period or two of being pushed (the file plugin writes what the device
        // would play, in order), and whole: 0.2 s × 48 kHz × 94.7 % above 500.
        #expect(cueStart >= Int(framesAtCue) && cueStart - Int(framesAtCue) <= 3 * 480, "\(cueStart) vs \(framesAtCue)")
        // The voice starts ahead of the silence the device holds (rewound): split before that.
        let split = Int(framesAtVoice) - 4 * 480
        let cueSamples = loud.filter { $0 < split }.count
        #expect((8800...9600).contains(cueSamples), "\(cueSamples)")
        let voiceSamples = loud.filter { $0 >= split }.count
        #expect((13_300...14_400).contains(voiceSamples), "\(voiceSamples)")
        #expect(audio.playbackCounters.snapshot().ringMisses == 0)
    }

    @Test func missingDeviceIsAClearError() throws {
        let settings = try LoadedConfig.load(
            paths: ConfigPaths(mainFile: "/nonexistent", dropInDirectory: "/nonexistent", mainFileRequired: false),
            environment: ["PARLEY_AUDIO__CAPTURE_DEVICE": "hw:CARD=NoSuchCard"]).settings
        let audio = AudioEngine(settings: settings.audio, dsp: settings.dsp)
        let error = #expect(throws: AudioError.self) { try audio.start() }
        #expect(error?.code == .open)
        #expect(error?.description.hasPrefix("audio device \"hw:CARD=NoSuchCard\": cannot open") == true)
    }
}
