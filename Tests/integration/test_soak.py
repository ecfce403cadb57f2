"""A soak: push-to-talk turns at an accelerated pace on the OpenAI backend, with transcripts
on and a random fault in about one turn in ten (the socket dropped or cut mid-frame, closed
with 1011, an error event, garbage, a stalled answer, the next upgrade refused with 503).
Afterwards the daemon still answers, its file descriptors, threads and memory are where
they were after the warm-up, no secret reached its log or status, and every transcript it
queued was delivered.

SOAK_TURNS sets the length (100 in `make test`; `make bench` runs 1,000 and records soak.*
from the SOAK_RESULTS file)."""
import json
import os
import random
import signal
import time
from pathlib import Path

from conftest import start_on_backend
from fake_openai import FakeRealtime
from fake_transcripts import FakeTranscripts, transcripts_dropin
from parleyd_process import Control
from test_openai_backend import ready, wait_for

KEY = "sk-test-soak-key-0123456789abcdef"
FAULTS = ["drop", "cut_mid_frame", "close:1011", "error", "garbage", "stall", "refuse_503"]
WARM_UP = 20


def footprint(pid: int) -> dict:
    proc = Path(f"/proc/{pid}")
    status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
    return {"fds": len(os.listdir(proc / "fd")), "threads": len(os.listdir(proc / "task")),
            "rss_mb": int(status["VmRSS"].split()[0]) / 1024}


def inject(fake: FakeRealtime, fault: str):
    if fault == "drop":
        fake.drop_after_deltas = 1
    elif fault == "error":
        fake.error_after_deltas = 1
    elif fault == "refuse_503":
        fake.drop_after_deltas = 1
        fake.refuse_upgrades = [(503, {"error": {"message": "overloaded", "type": "server_error",
                                                 "code": "overloaded", "param": None}})] * 2
    else:
        fake.misbehave_after_deltas = (1, fault)


def test_soak(daemon, tmp_path):
    turns = int(os.environ.get("SOAK_TURNS", "100"))
    rng = random.Random(int(os.environ.get("SOAK_SEED", "7")))
    fake = FakeRealtime(api_key=KEY).start()
    fake.response_audio_seconds = 0.4
    fake.speak_pace = 0.25
    transcripts = FakeTranscripts().start()
    dropin, token = transcripts_dropin(tmp_path, transcripts.url, "T-soak")
    dropin += '[backend]\nstall_timeout_ms = 1500\nreconnect_max_ms = 1000\n[board.cues]\nenabled = false\n'
    d = start_on_backend(daemon, tmp_path, "openai", f'url = "{fake.url}"', KEY, dropins_extra=dropin)
    control = Control(tmp_path / "control.sock")
    ready(control)
    faults: dict[str, int] = {}
    start = None
    began = time.monotonic()
    for turn in range(turns):
        if turn == WARM_UP:
            start = footprint(d.proc.pid)
        fault = rng.choice(FAULTS) if turn >= 5 and rng.random() < 0.1 else None
        if fault:
            inject(fake, fault)
            faults[fault] = faults.get(fault, 0) + 1
        committed = len(fake.committed)
        control.request({"command": "ptt", "action": "press"})
        time.sleep(0.15)
        control.request({"command": "ptt", "action": "release"})
        wait_for(lambda: len(fake.committed) > committed, what=f"turn {turn} committed")
        wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what=f"turn {turn} over")
        ready(control)
    elapsed = time.monotonic() - began
    wait_for(lambda: control.status()["transcripts"]["queued"] == 0, timeout=20, what="the transcript queue drained")
    end = footprint(d.proc.pid)
    status = control.status()
    log = d.log + json.dumps(status)
    secrets = log.count(KEY) + log.count(token)
    assert d.proc.poll() is None
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=10) == 0

    results = {
        "turns": turns, "faults": sum(faults.values()), "seconds": round(elapsed, 1),
        "fd_start": start["fds"], "fd_end": end["fds"], "fd_growth": end["fds"] - start["fds"],
        "threads_start": start["threads"], "threads_end": end["threads"],
        "thread_growth": end["threads"] - start["threads"],
        "rss_start_mb": round(start["rss_mb"], 1), "rss_end_mb": round(end["rss_mb"], 1),
        "rss_growth_mb": round(end["rss_mb"] - start["rss_mb"], 1), "secrets_in_logs": secrets,
        "transcripts_delivered": len(transcripts.saved), "reconnects": fake.connections - 1,
    }
    print("soak:", json.dumps(results), "faults:", faults)
    if os.environ.get("SOAK_RESULTS"):
        Path(os.environ["SOAK_RESULTS"]).write_text(json.dumps({"soak": results}, indent=2, sort_keys=True))
    assert secrets == 0
    assert results["fd_growth"] <= 2, results
    assert results["thread_growth"] <= 2, results
    assert results["rss_growth_mb"] < 5 + turns * 0.01, results  # allocator settling, not per-turn growth
    sent = status["transcripts"]
    assert sent["rejected"] == 0 and sent["dropped"] == 0 and sent["sent"] == len(transcripts.saved)
    assert [t["role"] for t in transcripts.saved].count("user") == turns  # every turn was heard
    assert fake.violations == []
