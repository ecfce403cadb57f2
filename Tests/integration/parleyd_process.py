"""The real parleyd as a child process: config dirs, an sd_notify socket, logs, and its control
socket. Shared by the integration tests and the hardware-in-the-loop suite (Tests/hil)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

PARLEYD = os.environ.get("PARLEYD", str(Path(__file__).resolve().parents[2] / ".build/debug/parleyd"))
SIM_ALSA = os.environ.get(
    "SIM_ALSA", "/usr/share/alsa/alsa.conf:" + str(Path(__file__).resolve().parents[2] / "board/sim/asound.conf"))

BASE_CONFIG = """
[audio]
capture_device = "parley_sim_mic"
playback_device = "parley_sim_speaker"
pacing = "clock"
realtime_priority = 0

[backend]
kind = "echo"
"""


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        Path(self.path).unlink(missing_ok=True)  # a second daemon in the same test (restarts)
        self.sock.bind(self.path)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode()))

    def all(self) -> list[str]:
        with self._lock:
            return [m for _, m in self.messages]

    def since(self, t: float) -> list[str]:
        with self._lock:
            return [m for when, m in self.messages if when >= t]

    def wait_for(self, prefix: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for when, m in self.messages:
                    if m.startswith(prefix) or ("\n" + prefix) in m:
                        return when
            time.sleep(0.01)
        raise AssertionError(f"no {prefix!r} within {timeout}s; got {self.all()}")


class Daemon:
    """parleyd started with a config dir; stderr collected line by line."""

    def __init__(self, tmp: Path, config: str = BASE_CONFIG, env: dict | None = None, args=(), dropins=None,
                 prefix=()):
        """`prefix`: a command parleyd runs under (setpriv, prlimit)."""
        self.tmp = tmp
        self.prefix = list(prefix)
        (tmp / "conf.d").mkdir(exist_ok=True)
        (tmp / "parley.toml").write_text(config)
        for name, text in (dropins or {}).items():
            (tmp / "conf.d" / name).write_text(text)
        self.notify = NotifySocket(tmp / "notify.sock")
        self.env = {
            "PATH": os.environ["PATH"],
            "ALSA_CONFIG_PATH": SIM_ALSA,
            "PARLEY_SIM_SPEAKER": str(tmp / "speaker.wav"),
            "NOTIFY_SOCKET": self.notify.path,
            "SWIFT_BACKTRACE": "enable=no",
        }
        self.env.update(env or {})
        self.args = list(args)
        self.lines: list[str] = []
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [*self.prefix, PARLEYD, "--config", str(self.tmp / "parley.toml"), *self.args],
            env=self.env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_log(self, text: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            time.sleep(0.01)
        raise AssertionError(f"{text!r} not logged within {timeout}s; log:\n{self.log}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 5.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"parleyd did not exit within {timeout} s; log:\n{self.log}\nits threads:\n{self.stacks()}") from None

    def stacks(self) -> str:
        """Every thread's backtrace, for a process that hangs (gdb, when installed)."""
        if not shutil.which("gdb"):
            return "(install gdb for the backtraces)"
        try:
            return subprocess.run(["gdb", "-p", str(self.proc.pid), "--batch", "-ex", "thread apply all bt"],
                                  capture_output=True, text=True, timeout=60).stdout
        except subprocess.TimeoutExpired as error:
            return f"(no backtrace: {error})"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.notify.sock.close()


def run_parleyd(*args, env=None, timeout=10):
    full_env = {"PATH": os.environ["PATH"], "SWIFT_BACKTRACE": "enable=no"}
    full_env.update(env or {})
    return subprocess.run([PARLEYD, *args], env=full_env, capture_output=True, text=True, timeout=timeout)


PARLEYCTL = os.environ.get("PARLEYCTL", str(Path(__file__).resolve().parents[2] / ".build/debug/parleyctl"))


class Control:
    def __init__(self, path):
        self.path = str(path)

    def request(self, obj: dict | bytes) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.path)
            s.sendall(obj if isinstance(obj, bytes) else json.dumps(obj).encode() + b"\n")
            return json.loads(s.makefile().readline())

    def status(self) -> dict:
        return self.request({"command": "status"})["status"]

    def ctl(self, *args):
        return subprocess.run([PARLEYCTL, *args, "--socket", self.path], capture_output=True, text=True, timeout=10)

    def wait_turn(self, turn, timeout=15.0, seen=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.status()["state"]
            if seen is not None and (not seen or seen[-1] != state["indicator"]):
                seen.append(state["indicator"])
            if state["turn"] == turn:
                return
            time.sleep(0.02)
        raise AssertionError(f"turn never became {turn}")
