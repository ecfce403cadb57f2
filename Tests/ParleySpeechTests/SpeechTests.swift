import Testing
@testable import ParleySpeech

@Suite struct SentenceSplitterTests {
    @Test func sentencesEndAtPunctuationFollowedBySpaceAcrossDeltas() {
        var s = SentenceSplitter()
        #expect(s.append("The pump is ") == [])
        #expect(s.append("on. Pressure is 3.5 bar") == ["The pump is on."])  // 3.5 is no sentence end
        #expect(s.append("! Check valve two?") == ["Pressure is 3.5 bar!"])
        #expect(s.append(" ") == ["Check valve two?"])
        #expect(s.finish() == nil)
    }

    @Test func lineBreaksEndSentencesAndTheRestComesOutAtTheEnd() {
        var s = SentenceSplitter()
        #expect(s.append("Step one\nStep two") == ["Step one"])
        #expect(s.finish() == "Step two")
        #expect(s.finish() == nil)
    }

    @Test func aLongRunWithoutAnEndIsCutAtItsLastCommaOrSpace() {
        var s = SentenceSplitter(longest: 20)
        let parts = s.append("first part, second part without end")
        #expect(parts == ["first part,", "second part without"])  // the rest (23 > 20) cut at a space
        #expect(s.finish() == "end")
    }
}

@Suite struct SpeechSynthesizerTests {
    @Test func speaksASentenceAt24kHz() async throws {
        let voice = try SpeechSynthesizer(voice: "en-us", wordsPerMinute: 175)
        let samples = await voice.synthesize("The pressure is fine.")
        let seconds = Double(samples.count) / Double(SpeechSynthesizer.outputRate)
        #expect(seconds > 0.6 && seconds < 4)
        let rms = (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
        #expect(rms > 500)  // speech, not silence
        let faster = try SpeechSynthesizer(voice: "en-us", wordsPerMinute: 350)
        #expect(await faster.synthesize("The pressure is fine.").count < samples.count)
    }

    @Test func anUnknownVoiceNamesTheFix() {
        #expect { _ = try SpeechSynthesizer(voice: "xx-nonexistent", wordsPerMinute: 175) } throws: {
            "\($0)".contains("espeak-ng --voices")
        }
    }
}
