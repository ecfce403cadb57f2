"""Latency of a push-to-talk conversation, measured end to end on the real parleyd (release
build) against the validating fake Realtime server, over many turns:

  latency.ptt_press_to_first_append_ms  press on the control socket → first append at the server
  latency.ptt_release_to_commit_ms      release → input_audio_buffer.commit at the server
  latency.delta_in_to_alsa_ms           the first delta of an answer (100 ms, above the 60 ms jitter
                                        target) leaves the server → its first sample is written to ALSA
  latency.barge_in_to_silence_ms        press while the answer plays → the speaker is written silence
  memory.rss_steady_mb                  parleyd's resident set after the turns

"Written to ALSA" is observed outside the daemon: the playback PCM is alsa-lib's file plugin
writing raw samples into a FIFO this script reads, timestamping each period as it arrives.
Cues are off so only the assistant's voice is sound. Prints JSON: p50/p99 per figure.
"""
import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from audio import SoundEdges  # noqa: E402
from fake_openai import FakeRealtime  # noqa: E402

KEY = "sk-bench-fake-key-1234567890"
ROOT = Path(__file__).resolve().parents[2]


class Speaker(SoundEdges):
    """Reads the playback FIFO (S16_LE mono 48 kHz) and records when sound starts and stops."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self._sounding = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        with open(self.path, "rb", buffering=0) as fifo:
            while True:
                chunk = fifo.read(960)  # 10 ms
                if not chunk:
                    return
                now = time.monotonic()
                loud = max(abs(int.from_bytes(chunk[i:i + 2], "little", signed=True))
                           for i in range(0, len(chunk) - 1, 2)) > 200
                if loud and not self._sounding:
                    self.starts.append(now)
                elif not loud and self._sounding:
                    self.stops.append(now)
                self._sounding = loud


def control(path, obj):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(json.dumps(obj).encode() + b"\n")
        return json.loads(s.makefile().readline())


def wait_event(fake, kind, after, timeout=5.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e, t in zip(list(fake.events), list(fake.event_times)):
            if t >= after and e["type"] == kind:
                return t
        time.sleep(0.001)
    raise TimeoutError(f"no {kind}")


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise TimeoutError("condition")


def percentiles(values):
    ordered = sorted(values)
    rank = lambda q: ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank
    return {"p50": round(rank(0.50) * 1000, 2), "p99": round(rank(0.99) * 1000, 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", default=str(ROOT / ".build/release/parleyd"))
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    fifo = work / "speaker.fifo"
    os.mkfifo(fifo)
    (work / "asound.conf").write_text(f"""
pcm.bench_speaker {{
    type file
    slave.pcm "null"
    file "{fifo}"
    format "raw"
}}
""")
    key = work / "openai.key"
    key.write_text(KEY)
    key.chmod(0o600)
    fake = FakeRealtime(api_key=KEY).start()
    fake.response_audio_seconds = 2.0  # a 440 Hz answer, sent at twice real time in 100 ms deltas
    sock = str(work / "control.sock")
    (work / "parley.toml").write_text(f"""
[audio]
capture_device = "parley_sim_mic"
playback_device = "bench_speaker"
pacing = "clock"

[board.cues]
enabled = false

[backend]
kind = "openai"

[backend.openai]
url = "{fake.url}"
api_key_file = "{key}"

[control]
socket = "{sock}"
""")
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{ROOT}/board/sim/asound.conf:{work}/asound.conf",
               PARLEY_SIM_MIC="/dev/zero")
    env.pop("NOTIFY_SOCKET", None)
    daemon = subprocess.Popen([args.parleyd, "--config", str(work / "parley.toml")], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(work / "parleyd.log", "w"))
    speaker = Speaker(fifo)  # opening the FIFO waits for parleyd to open its end
    try:
        wait_until(lambda: os.path.exists(sock) and
                   control(sock, {"command": "status"})["status"]["state"]["indicator"] == "ready")
        figures = {"press": [], "commit": [], "delta": [], "barge": []}
        for turn in range(args.turns + 1):
            t_press = time.monotonic()
            control(sock, {"command": "ptt", "action": "press"})
            if turn > 0:  # the previous answer is playing: this press is a barge-in
                figures["barge"].append(speaker.first_after(speaker.stops, t_press, timeout=5.0) - t_press)
            figures["press"].append(wait_event(fake, "input_audio_buffer.append", t_press) - t_press)
            time.sleep(0.3)
            t_release = time.monotonic()
            control(sock, {"command": "ptt", "action": "release"})
            figures["commit"].append(wait_event(fake, "input_audio_buffer.commit", t_release) - t_release)
            wait_until(lambda: fake.first_delta_times and fake.first_delta_times[-1] >= t_release)
            t_delta = fake.first_delta_times[-1]
            figures["delta"].append(speaker.first_after(speaker.starts, t_delta, timeout=5.0) - t_delta)
            if turn == args.turns:
                break
            time.sleep(0.3)  # let it speak, then interrupt
        rss_kb = next(int(line.split()[1]) for line in open(f"/proc/{daemon.pid}/status") if line.startswith("VmRSS"))
        assert fake.violations == [], fake.violations
        result = {
            "latency": {
                "ptt_press_to_first_append_ms": percentiles(figures["press"]),
                "ptt_release_to_commit_ms": percentiles(figures["commit"]),
                "delta_in_to_alsa_ms": percentiles(figures["delta"]),
                "barge_in_to_silence_ms": percentiles(figures["barge"]),
                "turns": args.turns,
            },
            "memory": {"rss_steady_mb": round(rss_kb / 1024, 1)},
        }
        print(json.dumps(result, indent=2, sort_keys=True))
    finally:
        daemon.terminate()
        daemon.wait(10)


if __name__ == "__main__":
    main()
