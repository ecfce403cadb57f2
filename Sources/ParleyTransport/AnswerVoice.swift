import ParleySpeech

/// Speaks text answers on the device (the text backends: Agent C, the agent routes relay):
/// sentences are synthesized in order by espeak-ng and handed to the playback path paced at
/// most 1.5 s ahead of the speaker, so the playback ring (4 s) never overflows and a barge-in
/// has little to flush. `silence()` drops everything said so far.
actor AnswerVoice {
    private let voice: SpeechSynthesizer
    private let output: @Sendable ([Int16]) -> Void
    private var speaking: Task<Void, Never>?
    /// Bumped by `silence()`: sentences of older answers are dropped.
    private var generation = 0
    private var playsUntil = ContinuousClock.now

    init(voice: SpeechSynthesizer, output: @escaping @Sendable ([Int16]) -> Void) {
        self.voice = voice
        self.output = output
    }

    /// Audio handed over and not played yet (by the clock).
    var isPlaying: Bool { playsUntil > .now }

    /// Queues a sentence after those said before.
    func say(_ sentence: String) {
        let previous = speaking
        let generation = self.generation
        speaking = Task {
            await previous?.value
            guard !Task.isCancelled, generation == self.generation else { return }
            let samples = await voice.synthesize(sentence)
            await play(samples, generation: generation)
        }
    }

    /// Waits until everything said so far is handed over; false if silenced meanwhile.
    func finished() async -> Bool {
        let generation = self.generation
        await speaking?.value
        return generation == self.generation
    }

    /// Barge-in: nothing more of what was said reaches the speaker.
    func silence() {
        generation += 1
        speaking?.cancel()
        speaking = nil
        playsUntil = .now
    }

    private func play(_ samples: [Int16], generation: Int) async {
        var start = 0
        while start < samples.count, generation == self.generation, !Task.isCancelled {
            let ahead = playsUntil - .now
            if ahead > .milliseconds(1500) {
                try? await Task.sleep(for: ahead - .milliseconds(1500))
                continue
            }
            let end = min(samples.count, start + 4800)
            playsUntil = max(playsUntil, .now) + .milliseconds((end - start) / 24)
            output(Array(samples[start..<end]))
            start = end
        }
    }
}
