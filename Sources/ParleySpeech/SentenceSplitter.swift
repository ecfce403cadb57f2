/// Cuts streamed text into sentences so speech can start before the answer is complete.
/// Pure. A sentence ends at . ! or ? followed by whitespace, or at a line break; a run
/// with no end longer than `longest` characters is cut at its last comma or space.
public struct SentenceSplitter: Sendable {
    private var pending = ""
    private let longest: Int

    public init(longest: Int = 240) {
        self.longest = longest
    }

    /// The sentences `delta` completed, in order.
    public mutating func append(_ delta: String) -> [String] {
        pending += delta
        var sentences: [String] = []
        while let end = nextEnd() {
            let sentence = pending[..<end].trimmingWhitespace
            pending = String(pending[end...])
            if !sentence.isEmpty { sentences.append(sentence) }
        }
        return sentences
    }

    /// Whatever is left when the text is complete.
    public mutating func finish() -> String? {
        defer { pending = "" }
        let rest = pending.trimmingWhitespace
        return rest.isEmpty ? nil : rest
    }

    private func nextEnd() -> String.Index? {
        var index = pending.startIndex
        while index < pending.endIndex {
            let character = pending[index]
            let next = pending.index(after: index)
            if character.isNewline { return next }
            if ".!?".contains(character), next < pending.endIndex, pending[next].isWhitespace { return next }
            index = next
        }
        guard pending.count > longest else { return nil }
        let cut = pending.lastIndex(of: ",") ?? pending.lastIndex(of: " ")
        return cut.map { pending.index(after: $0) } ?? pending.endIndex
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
