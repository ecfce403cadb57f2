"""Latency on the VM's real kernel path, over many push-to-talk turns with barge-in; written
to $HIL_RESULTS under `hil.` (with the other scenarios' measures) (bench/results.json takes them from `make bench`):

  ptt_edge_to_first_audio_ms  the PTT line pulled → the first input_audio_buffer.append at the
                              server (on the host)
  release_to_commit_ms        the line released → input_audio_buffer.commit at the server
  audio_in_to_loopback_ms     an answer's first delta leaves the server → its first sample
                              arrives on the loopback's other side
  barge_in_to_silence_ms      the line pulled while the answer plays → the loopback goes silent

Host times become guest times through the host link's clock offset (best of 10 round trips,
re-estimated before each turn, since under emulation the offset wanders); its uncertainty,
half the fastest round trip, and the largest change between two turns are reported too.
A turn during which the guest's CPUs stalled (the host starving qemu: Starvation) is left
out of the figures and counted (`hil.turns_voided_by_starvation`); so is a turn that failed
while parleyd lost audio (an xrun: TCG too slow to keep a buffer fed, in stalls shorter than
the probe counts), instead of failing the test. A turn with an xrun that measured fine is kept:
on an idle host about one barge-in in six xruns once in the VM (the rewind keeps 2 ms queued,
which TCG can take to write the refill). With fewer than half the turns left the scenario is
skipped with the reason, never failed."""
import math
import os
import time

import pytest
from hilvm import xruns


def percentiles(values):
    ordered = sorted(values)
    rank = lambda q: ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank
    return {"p50": round(rank(0.50) * 1000, 2), "p99": round(rank(0.99) * 1000, 2)}


def test_latency_over_many_turns(parleyd, gpio, speaker, host, measured, starvation):
    turns = int(os.environ.get("HIL_TURNS", "60"))
    control = parleyd().control
    host.configure(response_audio_seconds=2.0)
    figures = {"press": [], "commit": [], "audio": [], "barge": []}
    uncertainty = []
    voided = 0  # turns whose speaker figures fell into a recorder restart (see Speaker)
    playing = False  # the previous answer is playing: this press is a barge-in
    t_start = time.monotonic()
    for turn in range(turns + 1):
        host.sync(rounds=10)
        uncertainty.append(host.rtt / 2)
        began, lost = time.monotonic(), xruns(control)
        t_press = gpio.press()
        try:
            barge = speaker_edge(speaker, speaker.stops, t_press, since=t_start) if playing else None
            press = host.event_after("input_audio_buffer.append", t_press) - t_press
            time.sleep(0.3)
            t_release = gpio.release()
            commit = host.event_after("input_audio_buffer.commit", t_release) - t_release
            t_delta = host.first_delta_after(t_release)
            audio = speaker_edge(speaker, speaker.starts, t_delta, since=t_press)
        except AssertionError:
            why = emulators_doing(starvation, began, control, lost)
            if not why:
                raise
            gpio.release()
            gpio.wait_lit({"ready"}, timeout=30)  # start the chain again from a quiet speaker
            playing = False
            starvation.void(why)
            continue
        t_start = t_delta
        if starvation.during(began):  # the emulator's figures
            starvation.void("latency")
        elif (playing and barge is None) or audio is None:
            voided += 1
        else:
            figures["press"].append(press)
            figures["commit"].append(commit)
            if barge is not None:
                figures["barge"].append(barge - t_press)
            figures["audio"].append(audio - t_delta)
        playing = True
        if turn == turns:
            break
        time.sleep(0.3)  # let it speak, then interrupt
    assert voided <= turns // 10, f"{voided} of {turns} turns lost to speaker recorder restarts"
    assert host.ask("server")["violations"] == []
    if len(figures["audio"]) < turns // 2:
        starved = sum(n for why, n in starvation.voided.items() if why.startswith("latency"))
        pytest.skip(f"the host starved the VM: {starved} of {turns + 1} turns fell in guest stalls or lost audio; "
                    f"{len(figures['audio'])} left to measure")
    measured.update({
        "ptt_edge_to_first_audio_ms": percentiles(figures["press"]),
        "release_to_commit_ms": percentiles(figures["commit"]),
        "audio_in_to_loopback_ms": percentiles(figures["audio"]),
        "barge_in_to_silence_ms": percentiles(figures["barge"]),
        "clock_offset_uncertainty_ms": round(max(uncertainty) * 1000, 3),
        "clock_offset_wander_ms": round(host.wander_ms(), 3),
        "turns": turns,
        "turns_measured": len(figures["audio"]),
        "turns_voided_by_recorder_restarts": voided,
    })


def emulators_doing(starvation, began: float, control, lost: float) -> str | None:
    """Why the turn since `began` measured the emulator rather than the device, if it did."""
    if starvation.during(began):
        return "latency"
    if xruns(control) > lost:
        return "latency: parleyd xrun"
    return None


def speaker_edge(speaker, edges, t, since):
    """The first edge after `t`; None when the recorder restarted since `since` and the edge
    went unseen."""
    try:
        edge = speaker.first_after(edges, t, timeout=5.0)
    except AssertionError:
        if speaker.restarted_since(since):
            return None
        raise
    return None if speaker.restarted_since(since) else edge
