"""Latency on the VM's real kernel path, over many push-to-talk turns with barge-in; written
to $HIL_RESULTS under `hil.` (with the other scenarios' measures) (bench/results.json takes them from `make bench`):

  ptt_edge_to_first_audio_ms  the PTT line pulled → the first input_audio_buffer.append at the
                              server (on the host)
  release_to_commit_ms        the line released → input_audio_buffer.commit at the server
  audio_in_to_loopback_ms     an answer's first delta leaves the server → its first sample
                              arrives on the loopback's other side
  barge_in_to_silence_ms      the line pulled while the answer plays → the loopback goes silent

Host times become guest times through the host link's clock offset (best of 40 round trips,
re-estimated every 10 turns); its uncertainty, half the fastest round trip, is reported too."""
import math
import os
import time


def percentiles(values):
    ordered = sorted(values)
    rank = lambda q: ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank
    return {"p50": round(rank(0.50) * 1000, 2), "p99": round(rank(0.99) * 1000, 2)}


def test_latency_over_many_turns(parleyd, gpio, speaker, host, measured):
    turns = int(os.environ.get("HIL_TURNS", "60"))
    parleyd()
    host.configure(response_audio_seconds=2.0)
    figures = {"press": [], "commit": [], "audio": [], "barge": []}
    uncertainty = []
    for turn in range(turns + 1):
        if turn % 10 == 0:
            host.sync()
            uncertainty.append(host.rtt / 2)
        t_press = gpio.press()
        if turn > 0:  # the previous answer is playing: this press is a barge-in
            figures["barge"].append(speaker.first_after(speaker.stops, t_press) - t_press)
        figures["press"].append(host.event_after("input_audio_buffer.append", t_press) - t_press)
        time.sleep(0.3)
        t_release = gpio.release()
        figures["commit"].append(host.event_after("input_audio_buffer.commit", t_release) - t_release)
        t_delta = host.first_delta_after(t_release)
        figures["audio"].append(speaker.first_after(speaker.starts, t_delta) - t_delta)
        if turn == turns:
            break
        time.sleep(0.3)  # let it speak, then interrupt
    assert host.ask("server")["violations"] == []
    measured.update({
        "ptt_edge_to_first_audio_ms": percentiles(figures["press"]),
        "release_to_commit_ms": percentiles(figures["commit"]),
        "audio_in_to_loopback_ms": percentiles(figures["audio"]),
        "barge_in_to_silence_ms": percentiles(figures["barge"]),
        "clock_offset_uncertainty_ms": round(max(uncertainty) * 1000, 3),
        "turns": turns,
    })
