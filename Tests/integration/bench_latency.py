"""Latency of a push-to-talk conversation, measured end to end on the real parleyd (release
build) against the validating fake Realtime server, over many turns:

  latency.ptt_press_to_first_append_ms  press on the control socket → first append at the server
  latency.ptt_release_to_commit_ms      release → input_audio_buffer.commit at the server
  latency.delta_in_to_alsa_ms           the first delta of an answer (100 ms, above the 60 ms jitter
                                        target) leaves the server → its first sample is written to ALSA
  latency.barge_in_to_silence_ms        press while the answer plays → the speaker is written silence
  memory.rss_steady_mb                  parleyd's resident set after the turns, with rss_anon_mb and
                                        rss_file_mb (the mapped binary and libraries) beside it
  memory.rss_locked_mb                  the same after 10 turns of a second run with
                                        audio.lock_memory = true (locked_resident_mb: how much of it
                                        is locked)
  latency.mic_to_wire_ms                a sample entering capture → its bytes in an append on the
                                        fake server's socket (a second run: the microphone is a FIFO
                                        this script feeds 10 ms at a time, a little slower than real
                                        time so the capture thread always waits in its read; each
                                        burst's write is when its first sample enters capture)

"Written to ALSA" is observed outside the daemon: the playback PCM is alsa-lib's file plugin
writing raw samples into a FIFO this script reads, timestamping each period as it arrives.
Cues are off so only the assistant's voice is sound. ALSA reads the system's alsa.conf
without the host's conf.d directories: this host has PulseAudio (the tests' audio server), whose
hook there loads libpulse and its X11 client libraries into every ALSA client, which a
headless device without PulseAudio does not (`device_alsa_conf`). Prints JSON: p50/p99 per figure.
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
    """Reads the playback FIFO (S16_LE mono 48 kHz) and records when sound starts and stops,
    in 2 ms windows (a 10 ms window would hold a stop back until a whole window of silence had
    arrived); each window is stamped with the arrival of the read that completed it."""

    WINDOW = 192  # bytes: 2 ms

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self._sounding = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        pending = b""
        with open(self.path, "rb", buffering=0) as fifo:
            while True:
                chunk = fifo.read(4096)
                if not chunk:
                    return
                now = time.monotonic()
                pending += chunk
                while len(pending) >= self.WINDOW:
                    window, pending = pending[:self.WINDOW], pending[self.WINDOW:]
                    loud = max(abs(int.from_bytes(window[i:i + 2], "little", signed=True))
                               for i in range(0, len(window), 2)) > 200
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


def device_alsa_conf(work: Path) -> str:
    """alsa.conf as a headless device reads it: the system's file without the host's conf.d
    directories (PulseAudio's `pulse_load_if_running` hook lives in /etc/alsa/conf.d)."""
    text = Path("/usr/share/alsa/alsa.conf").read_text()
    for directory in ["/var/lib/alsa/conf.d", "/usr/etc/alsa/conf.d", "/etc/alsa/conf.d"]:
        text = text.replace(f'"{directory}"\n', "")
    (work / "alsa.conf").write_text(text)
    return str(work / "alsa.conf")


def launch_on_fake(parleyd: str, work: Path, fake: FakeRealtime, playback: str, extra: str = "",
                   alsa_extra: str = "", env_extra: dict | None = None) -> tuple[subprocess.Popen, str]:
    """The release parleyd on the fake (cues off, sim microphone), its log in work/; returns it
    and its control socket's path."""
    key = work / "openai.key"
    key.write_text(KEY)
    key.chmod(0o600)
    sock = str(work / "control.sock")
    (work / "parley.toml").write_text(f"""
[audio]
capture_device = "parley_sim_mic"
playback_device = "{playback}"
pacing = "clock"
{extra}
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
    env = dict(os.environ, ALSA_CONFIG_PATH=f"{device_alsa_conf(work)}:{ROOT}/board/sim/asound.conf{alsa_extra}",
               PARLEY_SIM_MIC="/dev/zero")
    env.update(env_extra or {})
    env.pop("NOTIFY_SOCKET", None)
    daemon = subprocess.Popen([parleyd, "--config", str(work / "parley.toml")], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(work / "parleyd.log", "w"))
    return daemon, sock


def resident(pid: int) -> dict:
    """The process's resident set, its parts and its peak (VmHWM), in MB (/proc/PID/status)."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    # smaps_rollup's Locked is what is resident and locked (VmLck counts whole locked mappings,
    # most of them never touched under MCL_ONFAULT).
    fields["Locked"] = next(line.split(":", 1)[1] for line in open(f"/proc/{pid}/smaps_rollup") if line.startswith("Locked:"))
    return {name: round(int(fields[name].split()[0]) / 1024, 1) for name in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Locked")}


def locked_rss(parleyd: str, turns: int = 10) -> dict:
    """A second run with audio.lock_memory = true (the fake's answers on the null speaker):
    its resident set after `turns` turns. Asserts the lock held (the runner has CAP_IPC_LOCK)."""
    work = Path(tempfile.mkdtemp(prefix="parley-bench-lock-"))
    fake = FakeRealtime(api_key=KEY).start()
    fake.response_audio_seconds = 1.0
    daemon, sock = launch_on_fake(parleyd, work, fake, "null", extra="lock_memory = true")
    try:
        wait_until(lambda: os.path.exists(sock) and
                   control(sock, {"command": "status"})["status"]["state"]["indicator"] == "ready")
        for _ in range(turns):
            t_press = time.monotonic()
            control(sock, {"command": "ptt", "action": "press"})
            wait_event(fake, "input_audio_buffer.append", t_press)
            time.sleep(0.3)
            t_release = time.monotonic()
            control(sock, {"command": "ptt", "action": "release"})
            wait_until(lambda: fake.first_delta_times and fake.first_delta_times[-1] >= t_release)
            time.sleep(1.2)
        mb = resident(daemon.pid)
        assert mb["Locked"] > 0 and "mlockall failed" not in (work / "parleyd.log").read_text(), mb
        return {"rss_locked_mb": mb["VmRSS"], "locked_resident_mb": mb["Locked"]}
    finally:
        daemon.terminate()
        daemon.wait(10)


def mic_to_wire(parleyd: str, bursts: int) -> dict:
    """While a press is held, a 30 ms burst every 300 ms into the microphone FIFO; for each, the
    first append at the server that carries it. The feeder and the fake server are threads of
    this process: the GIL's switch interval (5 ms by default) would be most of the figure, so
    it is 0.2 ms here."""
    sys.setswitchinterval(0.0002)
    import base64
    import struct
    work = Path(tempfile.mkdtemp(prefix="parley-bench-mic-"))
    mic = work / "mic.fifo"
    os.mkfifo(mic)
    fake = FakeRealtime(api_key=KEY).start()
    # speexdsp's suppressors turn the first 10 ms of an onset down ~40 dB (they need a frame to
    # adapt), which would hide which append carries the burst; the path is the same without them.
    daemon, sock = launch_on_fake(parleyd, work, fake, "parley_sim_speaker",
                                  extra="[dsp]\nnoise_suppression = false\nresidual_echo_suppression = false\n",
                                  env_extra={"PARLEY_SIM_MIC": str(mic), "PARLEY_SIM_SPEAKER": str(work / "speaker.wav")})
    silence = bytes(960)  # 10 ms at 48 kHz mono S16_LE
    burst = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * 1000 * i / 48000))) for i in range(480))
    written: list[float] = []
    stop = threading.Event()

    def feed():
        with open(mic, "wb", buffering=0) as fifo:  # waits for parleyd to open its end
            period, chunk = 0.0102, 0  # a little slower than real time: the reader always waits
            start = time.monotonic()
            while not stop.is_set():
                loud = chunk % 30 in (0, 1, 2) and chunk >= 300 and len(written) < bursts * 3
                if loud and chunk % 30 == 0:
                    written.append(time.monotonic())
                fifo.write(burst if loud else silence)
                chunk += 1
                delay = start + chunk * period - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        wait_until(lambda: os.path.exists(sock) and
                   control(sock, {"command": "status"})["status"]["state"]["indicator"] == "ready", timeout=30)
        control(sock, {"command": "ptt", "action": "press"})
        deadline = time.monotonic() + bursts * 0.4 + 30
        while len(written) < bursts and time.monotonic() < deadline:
            time.sleep(0.1)  # no busy polling beside the timed threads
        time.sleep(0.5)
        control(sock, {"command": "ptt", "action": "release"})
        stop.set()
        latencies = []
        appends = [(t, e) for e, t in zip(list(fake.events), list(fake.event_times))
                   if e["type"] == "input_audio_buffer.append"]
        for t_write in written[:bursts]:
            for t, e in appends:
                if t < t_write:
                    continue
                pcm = base64.b64decode(e["audio"])
                if max(abs(v) for (v,) in struct.iter_unpack("<h", pcm)) > 300:
                    latencies.append(t - t_write)
                    break
        assert len(latencies) >= bursts * 0.9, f"{len(latencies)} of {bursts} bursts found"
        return {"mic_to_wire_ms": percentiles(latencies), "mic_to_wire_bursts": len(latencies)}
    finally:
        stop.set()
        daemon.terminate()
        daemon.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", default=str(ROOT / ".build/release/parleyd"))
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--bursts", type=int, default=60)
    parser.add_argument("--only-mic", action="store_true", help="only latency.mic_to_wire_ms")
    args = parser.parse_args()
    if args.only_mic:
        print(json.dumps({"latency": mic_to_wire(args.parleyd, args.bursts)}, indent=2, sort_keys=True))
        return

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
    fake = FakeRealtime(api_key=KEY).start()
    fake.response_audio_seconds = 2.0  # a 440 Hz answer, sent at twice real time in 100 ms deltas
    daemon, sock = launch_on_fake(args.parleyd, work, fake, "bench_speaker", alsa_extra=f":{work}/asound.conf")
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
        mb = resident(daemon.pid)
        assert fake.violations == [], fake.violations
        result = {
            "latency": {
                "ptt_press_to_first_append_ms": percentiles(figures["press"]),
                "ptt_release_to_commit_ms": percentiles(figures["commit"]),
                "delta_in_to_alsa_ms": percentiles(figures["delta"]),
                "barge_in_to_silence_ms": percentiles(figures["barge"]),
                "turns": args.turns,
            },
            "memory": {"rss_steady_mb": mb["VmRSS"], "rss_anon_mb": mb["RssAnon"], "rss_file_mb": mb["RssFile"]},
        }
    finally:
        daemon.terminate()
        daemon.wait(10)
    result["latency"].update(mic_to_wire(args.parleyd, args.bursts))
    result["memory"].update(locked_rss(args.parleyd))
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
