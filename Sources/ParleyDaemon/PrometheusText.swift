/// The Prometheus text exposition format (version 0.0.4) for the daemon's metrics, whose
/// names already carry their labels (`parley_audio_xruns_total{direction="capture"}`).
/// Names ending in `_total` are counters; `<name>_bucket`/`_sum`/`_count` make a histogram
/// family `<name>`; the rest are gauges. Each family gets one `# TYPE` line.
enum PrometheusText {
    static func render(_ metrics: [String: Double]) -> String {
        let names = Set(metrics.keys.map(name))
        var families: [String: (type: String, series: [(String, Double)])] = [:]
        for (series, value) in metrics {
            let (family, type) = familyOf(name(series), names: names)
            families[family, default: (type, [])].series.append((series, value))
        }
        var out = ""
        for family in families.keys.sorted() {
            let (type, series) = families[family]!
            out += "# TYPE \(family) \(type)\n"
            for (name, value) in series.sorted(by: { order($0.0) < order($1.0) }) {
                out += "\(name) \(format(value))\n"
            }
        }
        return out
    }

    private static func name(_ series: String) -> String { String(series.prefix { $0 != "{" }) }

    private static func familyOf(_ name: String, names: Set<String>) -> (String, String) {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if names.contains(base + "_bucket") { return (base, "histogram") }
        }
        return (name, name.hasSuffix("_total") ? "counter" : "gauge")
    }

    /// Buckets in ascending `le` (+Inf last), then _sum and _count, as scrapers expect.
    private static func order(_ series: String) -> (String, Double, String) {
        let name = name(series)
        guard name.hasSuffix("_bucket"), let start = series.firstRange(of: "le=\"") else { return (name, 0, series) }
        let bound = series[start.upperBound...].prefix { $0 != "\"" }
        return (name, bound == "+Inf" ? .infinity : Double(bound) ?? 0, series)
    }

    private static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
