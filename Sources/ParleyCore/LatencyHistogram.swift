/// Turn latency (end of the technician's turn → first audio of the answer) as a Prometheus
/// histogram: cumulative-ready bucket counts, sum and count.
public struct LatencyHistogram: Sendable, Equatable {
    public static let bounds: [Double] = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8]
    public private(set) var counts = [Int](repeating: 0, count: bounds.count)
    public private(set) var sum = 0.0
    public private(set) var count = 0

    public init() {}

    public mutating func observe(seconds: Double) {
        if let i = Self.bounds.firstIndex(where: { seconds <= $0 }) { counts[i] += 1 }
        sum += seconds
        count += 1
    }

    /// Series for `name`: `<name>_bucket{le="…"}` (cumulative, +Inf = count), `_sum`, `_count`.
    public func series(_ name: String) -> [String: Double] {
        var out: [String: Double] = [:]
        var running = 0
        for (bound, n) in zip(Self.bounds, counts) {
            running += n
            out["\(name)_bucket{le=\"\(bound)\"}"] = Double(running)
        }
        out["\(name)_bucket{le=\"+Inf\"}"] = Double(count)
        out["\(name)_sum"] = sum
        out["\(name)_count"] = Double(count)
        return out
    }
}
