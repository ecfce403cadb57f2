import Foundation
import ParleyFuzzing
import Testing

/// Replays every fuzz input kept in the repository through its target: the seed corpora
/// (Fuzz/corpus/<target>, recorded from the fakes) and every crasher `make fuzz` found
/// (Fuzz/crashers/<target>, kept after the fix). A crash here is a regression.
@Suite struct FuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndCrashersRunClean(_ target: FuzzTarget) throws {
        let seeds = Self.inputs("corpus", target)
        #expect(seeds.count >= 3, "Fuzz/corpus/\(target.rawValue) needs seeds (scripts/fuzz-seeds.py)")
        for file in seeds + Self.inputs("crashers", target) {
            target.run(try Data(contentsOf: file))
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func edgeInputsRunClean(_ target: FuzzTarget) {
        for input in [Data(), Data([0]), Data([0xff, 0xfe]), Data(repeating: 0x7b, count: 10_000),
                      Data(repeating: 0x5b, count: 100_000)] {
            target.run(input)
        }
    }
}
