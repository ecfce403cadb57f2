import Testing
@testable import ParleyDSP

/// The live echo measure on frame levels a test chooses (the echo rig checks it against real
/// cancellation, EchoScenarioTests), and the warning it leads to.
@Suite struct EchoHealthMeterTests {
    /// Mean square of a level in dB below full scale.
    static func power(_ dBFS: Double) -> Float { Float(32768 * 32768 * pow(10, dBFS / 10)) }

    struct Frame {
        var mic = -20.0, out = -60.0, reference = -20.0
        var peak: Int16 = 8000
    }

    /// Feeds `seconds` of 10 ms frames; returns the measures that ended.
    static func feed(_ meter: inout EchoHealthMeter, _ seconds: Double, _ f: Frame) -> [EchoHealthMeter.Measure] {
        feed(&meter, seconds) { _ in f }
    }

    /// Feeds `seconds` of 10 ms frames, each as `frame(index)` makes it.
    static func feed(_ meter: inout EchoHealthMeter, _ seconds: Double, _ frame: (Int) -> Frame) -> [EchoHealthMeter.Measure] {
        var ended: [EchoHealthMeter.Measure] = []
        for i in 0..<Int((seconds * 100).rounded()) {
            let f = frame(i)
            let silent = f.reference <= -200
            if let m = meter.add(micMeanSquare: power(f.mic), outMeanSquare: power(f.out),
                                 referenceMeanSquare: silent ? 0 : power(f.reference), micPeak: f.peak) {
                ended.append(m)
            }
        }
        return ended
    }

    static let quiet = Frame(mic: -65, out: -75, reference: -300)

    @Test func anAnswerIsMeasuredWhenItEnds() throws {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        #expect(Self.feed(&meter, 4, Frame()).isEmpty)  // still talking
        let ended = Self.feed(&meter, 1.5, Self.quiet)
        let m = try #require(ended.first)
        #expect(ended.count == 1)
        #expect(abs(m.erleDecibels - 40) < 0.1)
        #expect(abs(m.farEndOnlySeconds - 3.9) < 0.01)  // the first block has no block before it
        #expect(m.micClippedFraction == 0)
    }

    @Test func aShortBlipOrSilenceMeasuresNothing() {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        #expect(Self.feed(&meter, 0.8, Frame()).isEmpty)
        #expect(Self.feed(&meter, 3, Self.quiet).isEmpty)
        #expect(Self.feed(&meter, 2, Frame(reference: -60)).isEmpty)  // a reference too faint to count
        #expect(Self.feed(&meter, 2, Self.quiet).isEmpty)
    }

    @Test func aLongAnswerIsMeasuredEveryEightSeconds() {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        let ended = Self.feed(&meter, 20, Frame())
        #expect(ended.count == 2)
        #expect(ended.allSatisfy { $0.farEndOnlySeconds == 8 })
    }

    /// Far-end speech: syllables, loud and soft every 200 ms; its echo 40 dB down after the chain.
    static func speech(_ i: Int, erle: Double = 40) -> Frame {
        let level = (i / 20) % 2 == 0 ? -20.0 : -30.0
        return Frame(mic: level, out: level - erle, reference: level)
    }

    @Test func doubleTalkIsLeftOut() throws {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        _ = Self.feed(&meter, 3) { Self.speech($0) }
        _ = Self.feed(&meter, 2) { i in  // a talker in its own rhythm: kept, so little taken out
            var f = Self.speech(i)
            f.mic = -18
            f.out = -22 - Double(((i / 10) &* 2_654_435_761) % 9)  // block levels of its own
            return f
        }
        _ = Self.feed(&meter, 2) { Self.speech($0) }
        let m = try #require(Self.feed(&meter, 1.5, Self.quiet).first)
        #expect(abs(m.erleDecibels - 40) < 1)
        #expect(abs(m.farEndOnlySeconds - 4.9) < 0.3)
    }

    /// The measure of a 3 s answer of `speech` whose `frames` were changed by `change`.
    static func answer(changing frames: Range<Int>, _ change: (inout Frame) -> Void) throws -> EchoHealthMeter.Measure {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        _ = feed(&meter, 3) { i in
            var f = speech(i)
            if frames.contains(i) { change(&f) }
            return f
        }
        return try #require(feed(&meter, 1.5, quiet).first)
    }

    /// A canceller at 40 dB leaves a 100 ms blip of echo now and then (after double talk
    /// disturbed it): the mic heard no more than the echo, so it counts — left out, the
    /// measure would read high, since one such block outweighs seconds of good ones.
    @Test func aShortBlipOfResidualEchoCounts() throws {
        let m = try Self.answer(changing: 100..<110) { $0.out = $0.mic - 15 }  // one block, 15 dB taken out
        // The blip is a soft block (−30 dBFS) left at −45: its residual outweighs the other 29
        // blocks' together (40 dB down from −20 and −30), 35.3 dB all told; left out, 40.
        #expect(abs(m.erleDecibels - 35.3) < 0.5)
        #expect(abs(m.farEndOnlySeconds - 2.9) < 0.05)
    }

    /// A word said over the answer, shorter than the rhythm can judge: the mic heard more
    /// than the echo path gives, so it is the talker's, and left out.
    @Test func aShortWordOverTheAnswerIsLeftOut() throws {
        let m = try Self.answer(changing: 100..<120) { $0.mic += 8; $0.out = $0.mic - 3 }  // 200 ms: "stop"
        #expect(abs(m.erleDecibels - 40) < 0.5)
        #expect(abs(m.farEndOnlySeconds - 2.7) < 0.05)
    }

    @Test func aCancellerThatLostTheEchoIsMeasuredAsLostNotLeftOut() throws {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        _ = Self.feed(&meter, 3) { Self.speech($0) }
        _ = Self.feed(&meter, 1.5, Self.quiet)
        // From now on nothing is cancelled (the echo moved): what is left follows the far
        // end's syllables, so it is echo, not a talker, and the next answer's measure says so.
        _ = Self.feed(&meter, 4) { Self.speech($0, erle: 2) }
        let m = try #require(Self.feed(&meter, 1.5, Self.quiet).first)
        #expect(m.erleDecibels < 3)
        #expect(m.farEndOnlySeconds > 3)
    }

    @Test func aClippingMicAndLoudPassagesCancelledWorseAreSeen() throws {
        var meter = EchoHealthMeter(frameSeconds: 0.01)
        var ended: [EchoHealthMeter.Measure] = []
        for _ in 0..<4 {  // loud and soft passages; the loud ones distort (less cancelled) and clip
            ended += Self.feed(&meter, 1, Frame(mic: -10, out: -35, reference: -10, peak: 32767))
            ended += Self.feed(&meter, 1, Frame(mic: -30, out: -70, reference: -30))
        }
        ended += Self.feed(&meter, 1.5, Self.quiet)
        let m = try #require(ended.last)
        #expect(m.micClippedFraction > 0.4 && m.micClippedFraction < 0.6)
        let gap = try #require(m.loudLessSoftDecibels)
        #expect(gap < -10)
    }
}

@Suite struct EchoHealthWatchTests {
    static func measure(_ erle: Double, clipped: Double = 0, loudLessSoft: Double? = nil) -> EchoHealthMeter.Measure {
        .init(erleDecibels: erle, farEndOnlySeconds: 5, micClippedFraction: clipped, loudLessSoftDecibels: loudLessSoft)
    }

    @Test func threeAnswersInARowBelowTheThresholdWarnOnceAndRecoveryIsSaidOnce() throws {
        var watch = EchoHealthWatch(thresholdDecibels: 20)
        #expect(watch.add(Self.measure(12)) == nil)
        #expect(watch.add(Self.measure(30)) == nil)  // one bad answer is not a fault
        #expect(watch.add(Self.measure(12)) == nil)
        #expect(watch.add(Self.measure(14)) == nil)
        let verdict = watch.add(Self.measure(13))
        guard case .warning(let text) = verdict else { Issue.record("no warning: \(String(describing: verdict))"); return }
        #expect(text.contains("13.0 dB ERLE over the last 3 answers"))
        #expect(text.contains("dsp.aec_erle_warning_db"))
        #expect(watch.add(Self.measure(11)) == nil)
        #expect(watch.add(Self.measure(21)) == nil)  // above, but not clearly
        #expect(watch.add(Self.measure(25)) == .recovered("echo cancellation is good again: 25.0 dB ERLE"))
        #expect(watch.add(Self.measure(26)) == nil)
    }

    @Test func zeroNeverWarns() {
        var watch = EchoHealthWatch(thresholdDecibels: 0)
        for _ in 0..<5 { #expect(watch.add(Self.measure(1)) == nil) }
    }

    @Test(arguments: [
        (2.0, 0.0, nil, EchoHealthWatch.Cause.misaligned, "dsp.aec_delay_probe = true"),
        (15.0, 0.2, nil, .micClipping, "20 % of far-end audio"),
        (15.0, 0.0, -9.0, .speakerDistortion, "9.0 dB worse"),
        (15.0, 0.0, -2.0, .echoPath, "dsp.aec_tail_ms"),
    ] as [(Double, Double, Double?, EchoHealthWatch.Cause, String)])
    func theLikelyCauseIsNamedWithWhatToDo(erle: Double, clipped: Double, loudLessSoft: Double?,
                                           cause: EchoHealthWatch.Cause, advice: String) {
        let m = Self.measure(erle, clipped: clipped, loudLessSoft: loudLessSoft)
        #expect(EchoHealthWatch.cause(m) == cause)
        #expect(EchoHealthWatch.explain(m).contains(advice))
    }
}

#if canImport(Glibc)
import Glibc
#endif
