"""Remote provisioning against a real HTTPS server on loopback (aiohttp, a test CA), files
signed by the openssl CLI as an operator signs them (docs/FLEET.md)."""
import subprocess
import time

import pytest

from fake_fleet import FakeFleet, FleetKey
from parleyd_process import BASE_CONFIG, PARLEYCTL, PARLEYD, Control

DEVICE = "van-0412"


@pytest.fixture
def fleet(tmp_path):
    (tmp_path / "fleet").mkdir()
    return FakeFleet(tmp_path / "fleet", FleetKey(tmp_path / "fleet"))


def config(fleet, interval=5, rollback=10, extra=""):
    return (BASE_CONFIG + f'[device]\nid = "{DEVICE}"\n[provisioning]\nurl = "{fleet.url}"\n'
            f'public_key = "{fleet.key.public}"\nca_file = "{fleet.ca}"\ninterval_s = {interval}\n'
            f'rollback_after_s = {rollback}\n{extra}')


def start(daemon, tmp_path, fleet, **kwargs):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True, mode=0o700)
    d = daemon(config=config(fleet, **kwargs), env={"STATE_DIRECTORY": str(state),
                                                    "PARLEY_CONTROL__SOCKET": str(tmp_path / "control.sock")}).start()
    d.notify.wait_for("READY=1", timeout=10)
    d.control = Control(tmp_path / "control.sock")
    return d


def provisioning(d):
    return d.control.status()["provisioning"]


def wait_for(predicate, what, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout}s")


def check_config(tmp_path):
    return subprocess.run([PARLEYD, "check-config", "--config", str(tmp_path / "parley.toml")],
                          env={"STATE_DIRECTORY": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=10)


def test_a_signed_update_is_applied_live_then_unchanged_pulls_do_no_work(daemon, tmp_path, fleet):
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 35\n")
    fleet.start()
    d = start(daemon, tmp_path, fleet)
    wait_for(lambda: provisioning(d)["result"] == "applied", "applied")
    assert d.control.status()["audio"]["volumePercent"] == 35  # a live key: no restart
    assert "provisioning device" in subprocess.run([PARLEYCTL, "status", "--socket", str(tmp_path / "control.sock")],
                                                  capture_output=True, text=True).stdout
    assert provisioning(d)["version"].startswith('device "')
    d.wait_log("provisioning: applied device")
    d.wait_log("provisioning: reloading configuration")
    assert d.proc.poll() is None
    # The report: what an operator sees of the fleet without a shell.
    wait_for(lambda: any(r["provisioning"]["result"] == "applied" for r in fleet.reports), "a report after ready")
    report = fleet.reports[-1]
    assert report["device"] == DEVICE and report["device_id"] == DEVICE
    assert report["provisioning"]["applied"]["device"].startswith('"')
    assert report["status"]["state"]["link"] == "connected" and "parley_turns_total" in report["metrics"]
    assert "lastUserTranscript" not in report["status"]  # speech stays on the device
    assert report["version"]
    # The next pull asks with the ETag and gets 304: nothing applied again.
    wait_for(lambda: any(status == 304 for _, _, status in fleet.requests), "a 304", timeout=10)
    assert d.log.count("provisioning: applied") == 1
    assert "(provisioned" in check_config(tmp_path).stdout or "provisioned/20-device.toml" in check_config(tmp_path).stdout
    # A new version is applied at the next pull.
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 60\n")
    wait_for(lambda: d.control.status()["audio"]["volumePercent"] == 60, "the new version", timeout=10)


def test_an_update_needing_a_restart_restarts_cleanly_and_holds(daemon, tmp_path, fleet):
    fleet.publish(f"{DEVICE}.toml", "[backend.echo]\ndelay_ms = 50\n")
    fleet.start()
    d = start(daemon, tmp_path, fleet)
    assert d.proc.wait(timeout=10) == 0  # systemd's Restart=always starts it again
    assert "provisioning: restarting to apply device" in d.log and "backend.echo.delay_ms" in d.log
    d2 = start(daemon, tmp_path, fleet)
    wait_for(lambda: provisioning(d2)["result"] == "applied", "applied after the restart")
    out = check_config(tmp_path).stdout
    assert "delay_ms = 50" in out and "state/provisioned/20-device.toml:2" in out
    time.sleep(6)  # a pull later: 304, no second restart
    assert d2.proc.poll() is None


@pytest.mark.parametrize("published,reason", [
    ("bad signature", "signature does not verify"),
    ('[ptt]\nmode = "hodl"\n', "does not validate"),
    ('[backend.openai]\napi_key = "sk-proj-PULLED-SECRET-0123456789"\n', "secrets are not accepted inline"),
])
def test_what_does_not_verify_or_validate_is_refused_and_the_last_good_kept(daemon, tmp_path, fleet, published, reason):
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 35\n")
    fleet.start()
    d = start(daemon, tmp_path, fleet)
    wait_for(lambda: provisioning(d)["result"] == "applied", "the first version")
    good = provisioning(d)["version"]
    if published == "bad signature":
        other = FleetKey(tmp_path)
        fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 99\n", signed_by=other)
    else:
        fleet.publish(f"{DEVICE}.toml", published)
    wait_for(lambda: provisioning(d)["result"] == "refused", "refused", timeout=10)
    assert reason in provisioning(d)["reason"], provisioning(d)
    assert provisioning(d)["version"] == good and d.control.status()["audio"]["volumePercent"] == 35
    assert d.log.count("provisioning: refused") == 1
    wait_for(lambda: fleet.reports and fleet.reports[-1]["provisioning"]["result"] == "refused", "reported")
    everything = d.log + str(fleet.reports) + str(d.control.status())
    assert "PULLED-SECRET" not in everything


def test_the_server_down_at_start_and_mid_run_keeps_the_last_good_and_says_so_once(daemon, tmp_path, fleet):
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 35\n")
    fleet.down = True
    fleet.start()
    d = start(daemon, tmp_path, fleet)
    wait_for(lambda: provisioning(d)["result"] == "unreachable", "unreachable")
    fleet.down = False
    wait_for(lambda: provisioning(d)["result"] == "applied", "applied once it answers", timeout=10)
    fleet.down = True
    time.sleep(11)  # two pulls while down
    assert provisioning(d)["result"] == "unreachable"
    assert d.control.status()["audio"]["volumePercent"] == 35
    assert d.log.count("unreachable") == 2, d.log  # one line per outage
    assert d.log.count("reachable again") == 1


def test_a_config_that_never_gets_ready_is_rolled_back(daemon, tmp_path, fleet):
    key = tmp_path / "openai.key"
    key.write_text("sk-test-rollback\n")
    key.chmod(0o600)
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 35\n")
    fleet.start()
    d = start(daemon, tmp_path, fleet)
    wait_for(lambda: provisioning(d)["result"] == "applied", "the first version")
    # Valid, but it cannot connect: nothing listens there.
    fleet.publish(f"{DEVICE}.toml", f'[backend]\nkind = "openai"\n[backend.openai]\n'
                                     f'url = "ws://127.0.0.1:9/v1/realtime"\napi_key_file = "{key}"\n')
    assert d.proc.wait(timeout=15) == 0  # restart to apply
    d2 = start(daemon, tmp_path, fleet)
    assert d2.proc.wait(timeout=30) == 0  # not ready in 10 s: rolled back, restart
    assert "did not bring the device to ready within 10 s" in d2.log
    wait_for(lambda: any(r["provisioning"]["result"] == "rolled back" for r in fleet.reports), "the rollback reported")
    d3 = start(daemon, tmp_path, fleet)
    assert d3.control.status()["backend"] == "echo"
    assert d3.control.status()["audio"]["volumePercent"] == 35
    time.sleep(6)  # a pull later: what was rolled back is not applied again
    assert d3.proc.poll() is None and provisioning(d3)["result"] == "rolled back"


def test_files_the_daemon_cannot_start_with_are_rolled_back_at_once(daemon, tmp_path, fleet):
    """Valid offline, fatal at start (a queue path that cannot be created): without the rollback
    the daemon would exit 78 and systemd would not start it again."""
    token = tmp_path / "t.jwt"
    token.write_text("x.y.z\n")
    token.chmod(0o600)
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 35\n")
    fleet.start()
    d = start(daemon, tmp_path, fleet)
    wait_for(lambda: provisioning(d)["result"] == "applied", "the first version")
    fleet.publish(f"{DEVICE}.toml", f'[transcripts]\nenabled = true\nurl = "https://127.0.0.1:9/t"\n'
                                     f'token_file = "{token}"\nqueue_path = "/proc/parley-nope/queue.db"\n')
    assert d.proc.wait(timeout=15) == 0
    state = tmp_path / "state"
    d2 = daemon(config=config(fleet), env={"STATE_DIRECTORY": str(state),
                                           "PARLEY_CONTROL__SOCKET": str(tmp_path / "control.sock")}).start()
    assert d2.proc.wait(timeout=10) == 1  # not 78: systemd starts it again, on the restored files
    assert "restored the last good ones" in d2.log
    d3 = start(daemon, tmp_path, fleet)
    assert d3.control.status()["audio"]["volumePercent"] == 35
    time.sleep(6)  # a pull later: the same file is not applied again
    assert d3.proc.poll() is None and "applied" not in d3.log
    assert provisioning(d3)["result"] == "rolled back" and "could not start with it" in provisioning(d3)["reason"]


def test_the_fleet_wide_file_applies_below_the_devices_own_and_goes_when_the_server_drops_it(daemon, tmp_path, fleet):
    fleet.publish("default.toml", "[audio]\nvolume = 40\n[ptt]\nmode = \"toggle\"\n")
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 55\n")  # the device's own wins
    fleet.start()
    d = start(daemon, tmp_path, fleet, extra="fleet_default = true\n")
    wait_for(lambda: provisioning(d)["result"] == "applied", "applied")
    assert provisioning(d)["version"].startswith('fleet "') and ', device "' in provisioning(d)["version"]
    assert d.control.status()["audio"]["volumePercent"] == 55
    out = check_config(tmp_path).stdout
    assert 'mode = "toggle"' in out and "state/provisioned/10-fleet.toml:4" in out
    del fleet.files["default.toml"]
    wait_for(lambda: not (tmp_path / "state/provisioned/10-fleet.toml").exists(), "the fleet file gone", timeout=10)
    wait_for(lambda: 'mode = "toggle"' not in check_config(tmp_path).stdout, "its keys gone")
    assert d.control.status()["audio"]["volumePercent"] == 55
