#if canImport(Glibc)
import Glibc
#endif

/// The executable's code that only starting the daemon ran — argument and config parsing,
/// validation, the backends' and the engine's setup — stays mapped once it is READY, though
/// it never runs again: about a third of the resident set (docs/OPERATIONS.md, memory).
/// `release()` drops the code mapping's resident pages (MADV_DONTNEED). Code is never
/// written, so nothing is lost: what runs from then on faults back in from the page cache
/// (a minor fault, no I/O, while the kernel keeps it cached) and the resident set holds
/// only that; the rest stays in the page cache, where the kernel can reclaim it without
/// touching the daemon.
///
/// Not under `audio.lock_memory`: locked pages cannot be dropped, and that mode keeps what
/// it touched on purpose.
enum StartupCode {
    /// Drops the resident pages of the executable's code; returns how many bytes of code the
    /// advice covered, or nil when the mapping was not found or the kernel refused.
    static func release() -> Int? {
        let image = UInt(bitPattern: #dsohandle)
        guard let maps = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(maps) }
        var mappings: [Mapping] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, maps) > 0, let line {
            if let mapping = Mapping(String(cString: line)) { mappings.append(mapping) }
        }
        // The executable is the file whose mapping holds #dsohandle (in its data); its code is
        // the r-x parts of it.
        guard let file = mappings.first(where: { $0.range.contains(image) })?.file else { return nil }
        var released = 0
        for mapping in mappings where mapping.file == file && mapping.permissions.hasPrefix("r-x") {
            let length = Int(mapping.range.upperBound - mapping.range.lowerBound)
            guard madvise(UnsafeMutableRawPointer(bitPattern: mapping.range.lowerBound), length, MADV_DONTNEED) == 0 else {
                return nil
            }
            released += length
        }
        return released > 0 ? released : nil
    }

    /// One line of /proc/self/maps: `start-end perms offset dev inode path`.
    struct Mapping: Equatable {
        var range: Range<UInt>
        var permissions: Substring
        /// Device and inode: the file, even when it was replaced on disk since (an upgrade).
        var file: String

        init?(_ line: String) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5 else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                  start < end, fields[4] != "0" else { return nil }
            range = start..<end
            permissions = fields[1]
            file = "\(fields[3]):\(fields[4])"
        }
    }
}
