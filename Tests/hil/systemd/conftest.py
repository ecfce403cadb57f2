"""Fixtures in the booted HIL VM (docs/HIL.md, "The installed service"): a Debian bookworm
root with the .deb installed by apt, systemd as PID 1, parleyd.service started at boot on
the snd-aloop card (named "parley" by udev) and the gpio-sim chip, the board profile and the
backend as an operator's drop-ins, the key through LoadCredential. Everything is asserted
from what an operator has: systemctl show, the journal, the control socket, the hardware."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "Tests/hil"))
sys.path.insert(0, str(ROOT / "Tests/integration"))
from fixtures import configure, MEASURED, gpio, hang_guard, host, measured, starvation, write_results  # noqa: E402,F401 (fixtures)
from hilvm import Speaker  # noqa: E402
from parleyd_process import Control  # noqa: E402

MIC = "hw:CARD=parley,DEV=0,SUBDEV=0"       # parleyd captures DEV=1,SUBDEV=0 (50-board.toml)
SPEAKER = "hw:CARD=parley,DEV=1,SUBDEV=1"   # parleyd plays to DEV=0,SUBDEV=1
SOCKET = "/run/parley/control.sock"


def pytest_configure(config):
    configure(config, "systemd")
    if not Path("/run/systemd/system").is_dir() or "HIL_GPIO_SYSFS" not in os.environ:
        raise pytest.UsageError("Tests/hil/systemd runs in the booted HIL VM: use `make hil`")


def pytest_sessionfinish(session):
    write_results(session)


def sample(name: str, value_ms: float):
    MEASURED.setdefault(name, []).append(round(value_ms, 1))


def run(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def now_us() -> int:
    """CLOCK_MONOTONIC in µs: systemd's …TimestampMonotonic and the journal's clock."""
    return time.monotonic_ns() // 1000


class Unit:
    """parleyd.service as systemctl and journalctl show it."""

    NAME = "parleyd.service"

    def show(self, *props: str) -> dict[str, str]:
        out = run("systemctl", "show", self.NAME, *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def pid(self) -> int:
        return int(self.show("MainPID")["MainPID"])

    def restarts(self) -> int:
        return int(self.show("NRestarts")["NRestarts"])

    def wait_ready(self, other_than: int = 0, timeout: float = 60) -> dict[str, str]:
        """Until the unit is active (READY=1 came: it is Type=notify) with a main process other
        than `other_than`; its properties then."""
        return self._wait(lambda p: p["ActiveState"] == "active" and p["MainPID"] not in ("0", str(other_than)),
                          "ready again", timeout)

    def wait_state(self, state: str, timeout: float = 30) -> dict[str, str]:
        return self._wait(lambda p: p["ActiveState"] == state, state, timeout)

    WATCHED = ("ActiveState", "SubState", "MainPID", "ActiveEnterTimestampMonotonic", "InactiveEnterTimestampMonotonic",
               "NRestarts", "StatusText", "Result", "ExecMainStatus", "ExecMainCode")

    def _wait(self, done, what: str, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            props = self.show(*self.WATCHED)
            if done(props):
                return props
            time.sleep(0.02)
        raise AssertionError(f"{self.NAME} not {what} within {timeout} s: {props}\n{self.journal_text()}")

    def journal(self, since_us: int = 0, unit_only: bool = False) -> list[dict]:
        """This boot's journal entries (JSON) from `since_us` on the monotonic clock."""
        out = run("journalctl", "-b", "-o", "json", "--no-pager", *(["-u", self.NAME] if unit_only else [])).stdout
        entries = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [e for e in entries if int(e.get("__MONOTONIC_TIMESTAMP", 0)) >= since_us]

    def journal_text(self) -> str:
        return run("journalctl", "-b", "-u", self.NAME, "--no-pager", "-n", "60", check=False).stdout

    def ensure_running(self):
        """After a scenario that stopped or broke it: started again, as an operator would."""
        if self.show("ActiveState")["ActiveState"] != "active":
            run("systemctl", "reset-failed", self.NAME, check=False)
            run("systemctl", "start", "--no-block", self.NAME)
        self.wait_ready()


@pytest.fixture(scope="session")
def unit():
    u = Unit()
    u.wait_ready()
    return u


@pytest.fixture(autouse=True)
def running_after(unit):
    """Each scenario starts on a running service and leaves one behind."""
    unit.ensure_running()
    yield
    unit.ensure_running()


@pytest.fixture
def fake(host):
    host.reset()
    return host


@pytest.fixture
def control(unit):
    """The control socket, once the backend's session is up (READY comes before it)."""
    c = Control(SOCKET)
    wait_session(c, unit)
    return c


def wait_session(control: Control, unit: Unit, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while control.status()["state"]["session"] != "created":
        assert time.monotonic() < deadline, f"no session: {control.status()['state']}\n{unit.journal_text()}"
        time.sleep(0.05)


@pytest.fixture
def speaker():
    s = Speaker(SPEAKER)
    yield s
    s.close()


