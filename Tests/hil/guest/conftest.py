"""Fixtures inside the HIL VM: the gpio-sim chip, the two sides of the snd-aloop card, the
link to the host (its clock and what the fake Realtime server heard), and parleyd on all of
it. Runs only in the guest (scripts/hil/run-in-vm.sh sets HIL_*); `make hil` starts it."""
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "Tests/hil"))
sys.path.insert(0, str(ROOT / "Tests/integration"))
os.environ.setdefault("PARLEYD", os.environ.get("HIL_PARLEYD", str(ROOT / ".build/release/parleyd")))
from fixtures import configure, gpio, hang_guard, host, measured, starvation, write_results  # noqa: E402,F401 (fixtures)
from hilvm import RATE, Speaker, backend_toml  # noqa: E402
from parleyd_process import Control, Daemon  # noqa: E402

MIC = "hw:CARD=Loopback,DEV=0,SUBDEV=0"       # we play here; parleyd captures DEV=1,SUBDEV=0
SPEAKER = "hw:CARD=Loopback,DEV=1,SUBDEV=1"   # parleyd plays to DEV=0,SUBDEV=1; we record here


def pytest_configure(config):
    configure(config, "hil")
    if "HIL_GPIO_SYSFS" not in os.environ:
        raise pytest.UsageError("Tests/hil/guest runs inside the HIL VM: use `make hil`")


def pytest_sessionfinish(session):
    write_results(session)


def hil_config(tmp: Path, extra: str = "") -> str:
    key = tmp / "openai.key"
    key.write_text(os.environ["HIL_API_KEY"])
    key.chmod(0o600)
    return f"""
[audio]
capture_device = "hw:CARD=Loopback,DEV=1,SUBDEV=0"
playback_device = "hw:CARD=Loopback,DEV=0,SUBDEV=1"
rate = {RATE}
pacing = "device"
realtime_priority = 70
reopen_max_ms = 500

[board]
kind = "gpio"
chip = "hil-sim"
ptt_line = "ptt"
cancel_line = "cancel"
[board.leds.ready]
line = "led_ready"
ready = "on"
[board.leds.listen]
line = "led_listen"
listening = "on"
[board.leds.think]
line = "led_think"
thinking = "on"
[board.leds.speak]
line = "led_speak"
speaking = "on"
[board.leds.error]
line = "led_error"
error = "on"
offline = "on"
[board.cues]
enabled = false

{backend_toml(int(os.environ['HIL_FAKE_PORT']), f'api_key_file = "{key}"')}
[control]
socket = "{tmp}/control.sock"
{extra}"""


@pytest.fixture
def judged(starvation):
    """judged(scenario, attempt, tries): runs attempt() until it passes, up to `tries` times.
    An attempt that failed while the guest's CPUs were stalled (Starvation) is voided and
    counted, and another made; one that failed without a stall fails the test. All voided:
    skipped with the reason — the host, not the product."""
    def run(scenario: str, attempt, tries: int = 3):
        why = ""
        for _ in range(tries):
            began = time.monotonic()
            try:
                return attempt()
            except AssertionError as e:
                stall = starvation.during(began)
                if not stall:
                    raise
                starvation.void(scenario)
                why = f"{str(e).splitlines()[0]} (the guest's CPUs stalled {stall:.0f} ms)"
        pytest.skip(f"{scenario}: all {tries} tries fell in guest stalls; last: {why}")
    return run


@pytest.fixture
def speaker():
    s = Speaker(SPEAKER)
    yield s
    s.close()


@pytest.fixture
def start_parleyd(tmp_path, gpio, host):
    """parleyd on the loopback card and the gpio-sim chip, READY and connected; nothing
    records its speaker (the echo path takes that side of the card)."""
    started = []

    def start(extra: str = "", env: dict | None = None):
        host.reset()
        d = Daemon(tmp_path, config=hil_config(tmp_path, extra), env=env).start()
        started.append(d)
        d.notify.wait_for("READY=1", timeout=30)
        d.control = Control(tmp_path / "control.sock")
        gpio.wait_lit({"ready"}, timeout=20)
        return d

    yield start
    for d in started:
        d.stop()
        print(f"parleyd log (pid {d.proc.pid}):\n{d.log}")  # pytest shows it when the test failed


@pytest.fixture
def parleyd(speaker, start_parleyd):
    """parleyd as `start_parleyd`, with its speaker recorded from the first moment."""
    return start_parleyd
