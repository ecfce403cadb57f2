import Glibc
import Testing
@testable import ParleyDaemon

struct StartupCodeTests {
    @Test func readsAMappingLine() throws {
        let line = "55702e384000-55702f7b6000 r-xp 00000000 fe:00 5316667                    /usr/bin/parleyd (deleted)\n"
        let mapping = try #require(StartupCode.Mapping(line))
        #expect(mapping.range == 0x55702e384000..<0x55702f7b6000)
        #expect(mapping.permissions == "r-xp")
        #expect(mapping.file == "fe:00:5316667")  // the file still, though replaced on disk
        #expect(StartupCode.Mapping("7ffd1c5e3000-7ffd1c604000 rw-p 00000000 00:00 0          [stack]\n") == nil)  // no file
        #expect(StartupCode.Mapping("garbage") == nil)
    }

    /// In this test process: the executable's code (which holds this module) goes from resident
    /// to not, and keeps running.
    @Test func dropsTheResidentCodeAndCarriesOn() throws {
        let before = try residentCodeKiB()
        #expect(before > 512)
        let released = try #require(StartupCode.release())
        let after = try residentCodeKiB()
        #expect(released >= before * 1024)
        // Reading smaps runs some of it again (and its neighbours with it); not most of it.
        #expect(after < before / 2, "\(before) KiB resident before, \(after) KiB after")
    }

    /// Rss of the executable mapping holding this code, from /proc/self/smaps.
    private func residentCodeKiB() throws -> Int {
        let here = UInt(bitPattern: #dsohandle)
        let smaps = try #require(fopen("/proc/self/smaps", "r"))
        defer { fclose(smaps) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        var lines: [String] = []
        while getline(&line, &capacity, smaps) > 0, let line { lines.append(String(cString: line)) }
        // Each mapping with its Rss (the first `Rss:` line after it).
        var mappings: [(mapping: StartupCode.Mapping, kib: Int)] = []
        for text in lines {
            if let mapping = StartupCode.Mapping(text) {
                mappings.append((mapping, 0))
            } else if text.hasPrefix("Rss:"), !mappings.isEmpty {
                mappings[mappings.count - 1].kib = Int(text.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
            }
        }
        // #dsohandle is in the executable's data; its code is the r-x mappings of the same file.
        let file = try #require(mappings.first { $0.mapping.range.contains(here) }?.mapping.file)
        return mappings.filter { $0.mapping.file == file && $0.mapping.permissions.hasPrefix("r-x") }.map(\.kib).reduce(0, +)
    }
}
