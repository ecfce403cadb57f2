import ParleyCore
import Testing
@testable import ParleyDaemon

@Suite struct PrometheusTextTests {
    @Test func familiesGetOneTypeLineAndHistogramsTheirOrder() {
        var latency = LatencyHistogram()
        latency.observe(seconds: 0.4)
        latency.observe(seconds: 1.2)
        latency.observe(seconds: 20)
        var metrics: [String: Double] = [
            "parley_turns_total": 3,
            "parley_audio_xruns_total{direction=\"playback\"}": 1,
            "parley_audio_xruns_total{direction=\"capture\"}": 0,
            "parley_volume_percent": 80,
            "parley_audio_clock_drift_ppm": 5.5,
        ]
        metrics.merge(latency.series("parley_turn_latency_seconds")) { $1 }
        let text = PrometheusText.render(metrics)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("# TYPE") } == [
            "# TYPE parley_audio_clock_drift_ppm gauge",
            "# TYPE parley_audio_xruns_total counter",
            "# TYPE parley_turn_latency_seconds histogram",
            "# TYPE parley_turns_total counter",
            "# TYPE parley_volume_percent gauge",
        ])
        #expect(lines.contains("parley_audio_clock_drift_ppm 5.5"))
        #expect(lines.contains("parley_audio_xruns_total{direction=\"capture\"} 0"))
        let family = lines.drop { $0 != "# TYPE parley_turn_latency_seconds histogram" }.dropFirst().prefix(13)
        #expect(Array(family) == [
            "parley_turn_latency_seconds_bucket{le=\"0.25\"} 0",
            "parley_turn_latency_seconds_bucket{le=\"0.5\"} 1",
            "parley_turn_latency_seconds_bucket{le=\"0.75\"} 1",
            "parley_turn_latency_seconds_bucket{le=\"1.0\"} 1",
            "parley_turn_latency_seconds_bucket{le=\"1.5\"} 2",
            "parley_turn_latency_seconds_bucket{le=\"2.0\"} 2",
            "parley_turn_latency_seconds_bucket{le=\"3.0\"} 2",
            "parley_turn_latency_seconds_bucket{le=\"5.0\"} 2",
            "parley_turn_latency_seconds_bucket{le=\"8.0\"} 2",
            "parley_turn_latency_seconds_bucket{le=\"+Inf\"} 3",
            "parley_turn_latency_seconds_count 3",
            "parley_turn_latency_seconds_sum 21.6",
            "# TYPE parley_turns_total counter",
        ])
    }

    @Test func listenAddressesSplitIntoHostAndPort() {
        #expect(MetricsServer.split("127.0.0.1:9464")! == ("127.0.0.1", 9464))
        #expect(MetricsServer.split("[::1]:9100")! == ("::1", 9100))
        #expect(MetricsServer.split("localhost") == nil)
        #expect(MetricsServer.split(":9464") == nil)
        #expect(MetricsServer.split("127.0.0.1:99999") == nil)
    }
}
