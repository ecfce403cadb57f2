"""The pytest fixtures and session end both HIL guests share (Tests/hil/guest, the host's root;
Tests/hil/systemd, the booted package): a hang guard, the figures a scenario measures and
where they go, the starvation probe (hilvm.Starvation), the link to the host and the
gpio-sim chip with its buttons released. Each conftest imports them."""
import faulthandler
import json
import os

import pytest

from hilvm import GpioSim, HostLink, Starvation

MEASURED: dict = {}                 # the scenarios' figures, written to $HIL_RESULTS at the end
STARVATION: list[Starvation] = []   # the session's probe, for its figures at the end
HANG_SECONDS = 240


def write_results(session, key: str):
    """pytest_sessionfinish: the figures under `key`, with the scenario counts and the probe's."""
    MEASURED.update(scenarios=session.testscollected, scenarios_failed=session.testsfailed)
    if STARVATION:
        MEASURED.update(STARVATION[0].figures())
    with open(os.environ["HIL_RESULTS"], "w") as f:
        json.dump({key: MEASURED}, f, indent=2, sort_keys=True)


@pytest.fixture(autouse=True)
def hang_guard():
    """A test stuck in the VM would hold the whole run until its timeout: past HANG_SECONDS,
    print every thread's stack and end the run."""
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def measured():
    return MEASURED


@pytest.fixture(scope="session")
def starvation():
    probe = Starvation()
    STARVATION.append(probe)
    yield probe
    probe.close()


@pytest.fixture(scope="session")
def host():
    return HostLink(int(os.environ["HIL_LINK_PORT"]))


@pytest.fixture
def gpio():
    chip = GpioSim()
    for name in ("ptt", "cancel"):
        chip.release(name)
    return chip
