"""The pytest fixtures and session end both HIL guests share (Tests/hil/guest, the host's root;
Tests/hil/systemd, the booted package): a hang guard, the figures a scenario measures and
where they go, the starvation probe (hilvm.Starvation), the link to the host and the
gpio-sim chip with its buttons released. Each conftest imports them."""
import faulthandler
import json
import os
import sys
import threading

import pytest

from hilvm import GpioSim, HostLink, Starvation

MEASURED: dict = {}                 # the scenarios' figures, written to $HIL_RESULTS at the end
STARVATION: list[Starvation] = []   # the session's probe, for its figures at the end
RESULTS_KEY: list[str] = []         # the guest's key in $HIL_RESULTS ("hil", "systemd"), from configure
HANG_SECONDS = 240


def write_results(session):
    """pytest_sessionfinish: the figures, with the scenario counts and the probe's."""
    MEASURED.update(scenarios=session.testscollected, scenarios_failed=session.testsfailed)
    _write()


def _write():
    if STARVATION:
        MEASURED.update(STARVATION[0].figures())
    with open(os.environ["HIL_RESULTS"], "w") as f:
        json.dump({RESULTS_KEY[0]: MEASURED}, f, indent=2, sort_keys=True)


def configure(config, key: str):
    """pytest_configure of both guests: where their figures go in $HIL_RESULTS (`key`), and
    the mark a long scenario sets its hang budget with."""
    RESULTS_KEY[:] = [key]
    config.addinivalue_line("markers", f"hang_seconds(n): this scenario's hang guard, not {HANG_SECONDS} s")


@pytest.fixture(autouse=True)
def hang_guard(request):
    """A test stuck in the VM would hold the whole run until its timeout: past HANG_SECONDS
    (or the test's `hang_seconds` mark), print what the test printed, every thread's stack,
    write the figures so far with the test named (`hung`), and end the run — so the host
    says which test it was. (faulthandler's own timer would write its stacks into pytest's
    capture file, lost at the exit.)"""
    mark = request.node.get_closest_marker("hang_seconds")
    seconds = mark.args[0] if mark else HANG_SECONDS
    capture = request.config.pluginmanager.getplugin("capturemanager")
    timer = threading.Timer(seconds, _hung, args=(request.node.nodeid, seconds, capture))
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


def _hung(test: str, seconds: float, capture):
    if capture is not None:  # pytest holds the test's output in a file os._exit would lose
        capture.suspend_global_capture(in_=False)
        out, err = capture.read_global_capture()
        sys.stdout.write(out)
        sys.stderr.write(err)
    print(f"\nhil: {test} still running after {seconds} s; every thread's stack follows, then the run ends",
          flush=True)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    MEASURED["hung"] = test
    _write()
    os._exit(3)


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
