"""What both HIL guests share (docs/HIL.md): the link to the host (its clock and what the
fake Realtime server heard), the gpio-sim chip's lines by name, and the loopback card's
sides — what parleyd plays, recorded with its edges, and what it hears, played in."""
import base64
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

with warnings.catch_warnings():  # bookworm's Python is 3.11: audioop is there, and C-fast
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests/integration"))
from audio import SoundEdges  # noqa: E402

HOST = "10.0.2.2"       # qemu's user network: the host's loopback
RATE = 48000
LOUD = 300              # a sample above this (16-bit) is sound; parleyd's silence is 0


class HostLink:
    """The host's side of the story: its monotonic clock (offset estimated from the fastest
    of many round trips, NTP-style) and what the fake Realtime server saw."""

    def __init__(self, port: int):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.file = self.sock.makefile("rwb")
        self.offset = 0.0   # host monotonic − guest monotonic
        self.rtt = 0.0
        self.synced: list[tuple[float, float]] = []  # (guest time, offset) of each sync
        self.sync()

    def ask(self, op: str, **fields) -> dict:
        self.file.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        self.file.flush()
        reply = json.loads(self.file.readline())
        if "error" in reply:
            raise RuntimeError(f"host link {op}: {reply['error']}")
        return reply

    def sync(self, rounds: int = 40):
        samples = []
        for _ in range(rounds):
            g0 = time.monotonic()
            t = self.ask("time")["t"]
            g1 = time.monotonic()
            samples.append((g1 - g0, t - (g0 + g1) / 2))
        self.rtt, self.offset = min(samples)
        self.synced.append((time.monotonic(), self.offset))

    def wander_ms(self) -> float:
        """The largest change of the offset between two syncs (each turn gets a fresh one)."""
        offsets = [o for _, o in self.synced]
        return max((abs(b - a) for a, b in zip(offsets, offsets[1:])), default=0.0) * 1000

    def to_guest(self, host_time: float) -> float:
        return host_time - self.offset

    def event_after(self, kind: str, guest_time: float, timeout: float = 10.0) -> float:
        """Guest time of the first `kind` client event the server received after `guest_time`."""
        since = guest_time + self.offset - self.rtt  # clock uncertainty: look a round trip early
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, t in self.ask("events", since=since)["events"]:
                if name == kind:
                    return self.to_guest(t)
            time.sleep(0.005)
        seen = [f"{name} ×{len(list(run))}" for name, run in itertools.groupby(
            name for name, _ in self.ask("events", since=since)["events"])]
        raise AssertionError(f"the server received no {kind} within {timeout} s; it received {seen}")

    def events_since(self, guest_time: float) -> list[str]:
        return [name for name, _ in self.ask("events", since=guest_time + self.offset - self.rtt)["events"]]

    def first_delta_after(self, guest_time: float, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [self.to_guest(t) for t in self.ask("first_deltas")["times"] if self.to_guest(t) >= guest_time]
            if later:
                return later[0]
            time.sleep(0.005)
        raise AssertionError("the server sent no answer")

    def committed(self, index: int = -1) -> tuple[int, bytes]:
        reply = self.ask("committed", index=index)
        return reply["count"], base64.b64decode(reply["audio"])

    def configure(self, **settings):
        self.ask("configure", set=settings)

    def reset(self):
        """The fake's defaults: answers as long as the turn, spoken at half speed, nothing dropped."""
        self.configure(response_audio_seconds=None, speak_pace=0.5, drop_after_deltas=None, answer_audio=None)


class GpioSim:
    """The gpio-sim chip's lines by name: buttons pulled (active low: pressed = pulled down),
    LEDs read back from what parleyd drives."""

    CONFIG = Path("/sys/kernel/config/gpio-sim/hil")  # made by scripts/hil/board.sh

    def __init__(self):
        self.names = os.environ["HIL_GPIO_LINES"].split()

    @property
    def sysfs(self) -> Path:
        """Read each time: taking the chip down and up again gives it a new name."""
        return Path("/sys/devices/platform") / (self.CONFIG / "dev_name").read_text().strip() / (
            self.CONFIG / "bank0" / "chip_name").read_text().strip()

    def set_live(self, live: bool):
        """The chip there or gone, as an unplugged HAT would be (lines held or not). gpio-sim
        refuses (EPERM) a write that does not change it: only a change is written."""
        if (self.CONFIG / "live").read_text().strip() == ("1" if live else "0"):
            return
        (self.CONFIG / "live").write_text("1" if live else "0")
        if live:  # a new chip's simulated inputs start pulled down: the buttons "pressed"
            for name in ("ptt", "cancel"):
                self.release(name)

    def _line(self, name: str) -> Path:
        return self.sysfs / f"sim_gpio{self.names.index(name)}"

    def press(self, name: str = "ptt") -> float:
        return self._pull(name, "pull-down")

    def release(self, name: str = "ptt") -> float:
        return self._pull(name, "pull-up")

    def _pull(self, name: str, pull: str) -> float:
        """The time just before the edge. Not after the write: the edge wakes parleyd's
        SCHED_FIFO threads, which under TCG can run — and send the commit — before this
        process is scheduled again to read the clock."""
        path = self._line(name) / "pull"
        with open(path, "w") as f:
            t = time.monotonic()
            f.write(pull)
        return t

    def value(self, name: str) -> int:
        return int((self._line(name) / "value").read_text())

    def lit(self) -> set[str]:
        return {n[4:] for n in self.names if n.startswith("led_") and self.value(n)}

    def wait_lit(self, expected: set[str], timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.lit() == expected:
                return
            time.sleep(0.01)
        raise AssertionError(f"LEDs lit {self.lit()}, expected {expected}")


class Speaker(SoundEdges):
    """What parleyd plays, recorded from the loopback's other side in 5 ms blocks, with the
    guest time each sound started and stopped.

    The buffer holds 2 s: under TCG on a busy host the guest's arecord can go unscheduled for
    tens of milliseconds, and with a short buffer it overran and dropped what it recorded (an
    answer then "came out changed"). Blocks read late are stamped late, as before. If it
    still overruns and fails its read with EIO (snd-aloop's capture side, seen around
    parleyd's own playback xrun recoveries), it is started again at once and the time noted
    in `restarts`, so a measurement across that gap can be set aside instead of waiting for
    an edge that was never seen."""

    BLOCK = 240

    def __init__(self, device: str):
        super().__init__()
        self.device = device
        self.audio = bytearray()
        self.recording = False
        self.restarts: list[float] = []
        self._closing = False
        self._spawn()
        threading.Thread(target=self._read, daemon=True).start()

    def _spawn(self):
        self.proc = subprocess.Popen(
            ["arecord", "-q", "-D", self.device, "-f", "S16_LE", "-r", str(RATE), "-c", "1", "-t", "raw",
             f"--period-size={self.BLOCK}", f"--buffer-size={self.BLOCK * 400}"], stdout=subprocess.PIPE)

    def _read(self):
        while not self._closing:
            self._record(self.proc)
            if not self._closing:
                self.proc.wait()
                self.restarts.append(time.monotonic())
                self._spawn()

    def _record(self, proc):
        fd, size, pending, sounding = proc.stdout.fileno(), self.BLOCK * 2, b"", False
        while True:
            data = os.read(fd, size - len(pending))
            if not data:
                return
            pending += data
            if len(pending) < size:
                continue
            block, pending, now = pending, b"", time.monotonic()
            if self.recording:
                self.audio += block
            loud = audioop.max(block, 2) > LOUD
            if loud and not sounding:
                first = next(i for i in range(self.BLOCK) if abs(audioop.getsample(block, 2, i)) > LOUD)
                self.starts.append(now - (self.BLOCK - first) / RATE)
            elif not loud and sounding:
                self.stops.append(now - self.BLOCK / RATE)  # the whole block was silent
            sounding = loud

    def restarted_since(self, t: float) -> bool:
        return any(r >= t for r in self.restarts)

    def close(self):
        self._closing = True
        self.proc.kill()
        self.proc.wait()


def play_into_mic(raw: Path, device: str) -> subprocess.Popen:
    """Plays raw S16_LE mono 48 kHz into `device`, the loopback side parleyd captures from."""
    return subprocess.Popen(["aplay", "-q", "-D", device, "-f", "S16_LE", "-r", str(RATE), "-c", "1", "-t", "raw", str(raw)])


def backend_toml(port: int, key: str) -> str:
    """The backend both guests run against: the host's fake Realtime server, reached over
    qemu's user network in plain ws://; `key` is the TOML line naming the API key (a file,
    or a systemd credential)."""
    return f"""[backend]
kind = "openai"
allow_insecure = true           # the fake server is the host, over qemu's user network, in plain ws://
reconnect_initial_ms = 200
reconnect_max_ms = 1000

[backend.openai]
url = "ws://{HOST}:{port}/v1/realtime"
{key}
"""


# A probe above everything else in the guest (SCHED_FIFO 99, above parleyd's 70): it asks to
# wake every 2 ms and prints each wake-up that came more than MIN_MS late. Only the guest's
# CPU not running at all delays it that much — TCG's vCPU threads starved by the host — so
# its gaps are the emulator's, never the product's.
PROBE = r"""
import os, sys, time
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(99))
period, last = 0.002, time.monotonic()
while True:
    time.sleep(period)
    now = time.monotonic()
    if now - last - period > float(sys.argv[1]) / 1000:
        print(f"{last:.6f} {(now - last - period) * 1000:.1f}", flush=True)
    last = now
"""


def xruns(control) -> float:
    """parleyd's xrun recoveries so far, capture and playback (its metrics)."""
    metrics = control.request({"command": "metrics"})["metrics"]
    return sum(v for k, v in metrics.items() if k.startswith("parley_audio_xruns_total"))


class Starvation:
    """When the VM's CPUs did not run (guest monotonic times), from the probe above. A turn
    or measure overlapping a stall of STALL_MS or more is the emulator's doing: the scenarios
    void it with the reason counted (`hil.turns_voided_by_starvation`) instead of failing."""

    STALL_MS = 40   # four audio periods: past this, parleyd's own buffers (and the harness's) run dry
    MIN_MS = 5      # smaller gaps are noted only (the summary, lost_ms)

    def __init__(self):
        self.stalls: list[tuple[float, float]] = []  # (guest time it began, ms)
        self.voided: dict[str, int] = {}             # scenario → turns or measures voided
        self.proc = subprocess.Popen([sys.executable, "-c", PROBE, str(self.MIN_MS)], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            start, ms = line.split()
            self.stalls.append((float(start), float(ms)))

    def during(self, t0: float, t1: float | None = None) -> float:
        """The longest stall of STALL_MS or more overlapping [t0, t1] (t1: now), or 0."""
        return max((ms for ms, _ in self._overlapping(t0, t1) if ms >= self.STALL_MS), default=0.0)

    def lost_ms(self, t0: float, t1: float) -> float:
        """How much of [t0, t1] the guest's CPUs did not run, in gaps of MIN_MS or more: under
        a busy host TCG runs in slices, and a timed span counts the emulator's pauses too."""
        return sum(overlap for _, overlap in self._overlapping(t0, t1))

    def _overlapping(self, t0: float, t1: float | None) -> list[tuple[float, float]]:
        """Each gap that overlaps [t0, t1] (t1: now): its length and how much of it lies inside, in ms."""
        time.sleep(0.01)  # the probe reports a gap once it wakes
        t1 = time.monotonic() if t1 is None else t1
        return [(ms, (min(start + ms / 1000, t1) - max(start, t0)) * 1000)
                for start, ms in self.stalls if start < t1 and start + ms / 1000 > t0]

    def void(self, scenario: str) -> int:
        self.voided[scenario] = self.voided.get(scenario, 0) + 1
        return self.voided[scenario]

    def figures(self) -> dict:
        long = [ms for _, ms in self.stalls if ms >= self.STALL_MS]
        return {"turns_voided_by_starvation": sum(self.voided.values()),
                "turns_voided_by_starvation_per_scenario": dict(self.voided),
                "guest_stalls": len(long), "guest_stall_max_ms": max((ms for _, ms in self.stalls), default=0.0)}

    def close(self):
        self.proc.kill()
        self.proc.wait()


# Stops one thread of a process dead, the way a wedged driver would: ptrace stops only the
# thread it is given, the rest of the process runs on. A process of its own is the tracer,
# so it can reap the thread when the process exits (a tracee's exit waits for its tracer).
FREEZE = r"""
import ctypes, os, sys
from pathlib import Path
pid, name = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
tid = next(int(t.name) for t in Path(f"/proc/{pid}/task").iterdir() if (t / "comm").read_text().strip() == name)
for request in (0x4206, 0x4207):  # PTRACE_SEIZE, PTRACE_INTERRUPT
    if libc.ptrace(request, tid, None, None) != 0:
        sys.exit(f"ptrace {request:#x} on {name} ({tid}): {os.strerror(ctypes.get_errno())}")
os.waitpid(tid, 0x40000000)  # __WALL: the stop
print("stopped", flush=True)
while True:
    _, status = os.waitpid(tid, 0x40000000)  # __WALL
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        break
"""


def stop_thread(pid: int, name: str) -> subprocess.Popen:
    tracer = subprocess.Popen([sys.executable, "-c", FREEZE, str(pid), name], stdout=subprocess.PIPE, text=True)
    assert tracer.stdout.readline().strip() == "stopped", f"could not stop {name}"
    return tracer
