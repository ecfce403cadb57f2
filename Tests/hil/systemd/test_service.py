"""The installed service under a real systemd, as a device runs it: what the unit promises
(READY with the device state, restart after a crash, the watchdog on a hung audio thread,
no restart on a bad configuration, a quick stop, the key by credential, the sandbox and
the device list) and what the udev rules do, asserted from systemctl, the journal and the
hardware side. Figures go to hil.systemd.* (p50 in bench/results.json)."""
import array
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from audio import best_correlation, envelope, spoken_fixture
from conftest import MIC, now_us, run, sample, wait_session
from hilvm import RATE, play_into_mic, stop_thread

REPEATS = int(os.environ.get("HIL_SYSTEMD_REPEATS", "5"))  # samples per figure (p50 over them)
STARVED_SHARE = 0.2  # a stop the guest sat out this much of measured the emulator
KEY = os.environ["HIL_API_KEY"]
SYSCALL_KILLED = re.compile(r"status=31/SYS|SIGSYS|audit.*type=1326", re.I)


def no_syscall_refused(unit, since_us: int = 0):
    """The seccomp filter (SystemCallFilter=) refused nothing: no SIGSYS kill, no audit line."""
    hits = [e.get("MESSAGE", "") for e in unit.journal(since_us)
            if isinstance(e.get("MESSAGE"), str) and SYSCALL_KILLED.search(e["MESSAGE"])]
    assert not hits, hits


def test_the_service_is_ready_after_boot_and_its_status_is_the_device_state(unit, control, measured):
    props = unit.wait_ready()
    sample("ready_after_boot_ms", int(props["ActiveEnterTimestampMonotonic"]) / 1000)
    assert props["NRestarts"] == "0" and props["SubState"] == "running", props
    state = control.status()["state"]
    status = unit.show("StatusText")["StatusText"]
    assert status == f"link={state['link']} session={state['session']} turn={state['turn']} (openai)", status
    assert run("parleyctl", "status").stdout.count(state["link"]) >= 1
    # It runs as the package's user, with SCHED_FIFO from CAP_SYS_NICE alone.
    pid = unit.pid()
    assert Path(f"/proc/{pid}/status").read_text().count("\nUid:\t") == 1
    assert run("ps", "-o", "user=", "-p", str(pid)).stdout.strip() == "parley"
    policies = run("ps", "-L", "-o", "cls=,comm=", "-p", str(pid)).stdout
    assert re.search(r"FF\s+parley-capture", policies), policies


def test_a_push_to_talk_turn_on_the_gpio_line_over_the_loopback_card(unit, control, fake, gpio, speaker, tmp_path):
    since = now_us()
    pid = unit.pid()
    said = spoken_fixture(tmp_path / "said.raw", "Check the compressor on unit nine.", rate=RATE, lead=0.2, tail=0.4)
    before, _ = fake.committed()
    gpio.press()
    gpio.wait_lit({"listen"})
    play_into_mic(tmp_path / "said.raw", MIC).wait(timeout=30)
    speaker.recording = True
    t_release = gpio.release()
    fake.event_after("input_audio_buffer.commit", t_release)
    count, heard = fake.committed()
    assert count == before + 1
    words = envelope(said, RATE)
    correlation, _ = best_correlation(words, envelope(array.array("h", heard), 24000))
    assert correlation > 0.8, f"the words arrived changed (envelope correlation {correlation:.3f})"
    gpio.wait_lit({"speak"}, timeout=15)
    gpio.wait_lit({"ready"}, timeout=30)
    assert speaker.starts, "nothing came out of the card"
    assert unit.pid() == pid and unit.restarts() == 0
    no_syscall_refused(unit, since)


def timespan_ms(text: str) -> float:
    """systemctl show's time spans ("2s", "1min 30s", "500ms") in ms."""
    units = {"us": 1e-3, "ms": 1, "s": 1000, "min": 60000}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(us|ms|min|s)", text))


def test_a_killed_daemon_is_restarted_after_restart_sec(unit, control):
    restart_sec_ms = timespan_ms(unit.show("RestartUSec")["RestartUSec"])
    assert restart_sec_ms > 0
    for _ in range(REPEATS):
        pid, restarts = unit.pid(), unit.restarts()
        t0 = now_us()
        os.kill(pid, signal.SIGKILL)
        props = unit.wait_ready(other_than=pid)
        elapsed = (int(props["ActiveEnterTimestampMonotonic"]) - t0) / 1000
        sample("restart_after_kill_ms", elapsed)
        assert int(props["NRestarts"]) == restarts + 1
        assert elapsed >= restart_sec_ms, f"restarted after {elapsed:.0f} ms, before RestartSec"


def test_a_hung_audio_thread_stops_the_watchdog_and_systemd_restarts_the_daemon(unit, control):
    for _ in range(REPEATS):
        pid, restarts = unit.pid(), unit.restarts()
        tracer = stop_thread(pid, "parley-capture")  # a wedged driver: the rest runs on
        t0 = now_us()
        try:
            props = unit.wait_ready(other_than=pid, timeout=60)
        finally:
            tracer.kill()
            tracer.wait()
        sample("watchdog_restart_ms", (int(props["ActiveEnterTimestampMonotonic"]) - t0) / 1000)
        assert int(props["NRestarts"]) == restarts + 1
        said = " ".join(e.get("MESSAGE", "") for e in unit.journal(t0) if isinstance(e.get("MESSAGE"), str))
        assert "audio capture thread stalled" in said
        assert "Watchdog timeout" in said, said[-2000:]


def test_a_config_error_exits_78_with_the_reason_at_err_and_is_not_restarted(unit, control):
    bad = Path("/etc/parley/conf.d/70-typo.toml")
    bad.write_text('[audio]\nrate = "fast"\n')
    since = now_us()
    try:
        run("systemctl", "restart", "--no-block", unit.NAME)  # the operator's restart resets NRestarts
        unit.wait_state("failed")
        time.sleep(2 * timespan_ms(unit.show("RestartUSec")["RestartUSec"]) / 1000)  # past RestartSec
        props = unit.show("ActiveState", "ExecMainStatus", "Result", "NRestarts")
        assert props["ActiveState"] == "failed" and props["NRestarts"] == "0", f"restarted: {props}"
        assert props["ExecMainStatus"] == "78" and props["Result"] == "exit-code", props
        errors = [e["MESSAGE"] for e in unit.journal(since, unit_only=True)
                  if e.get("PRIORITY") in ("0", "1", "2", "3") and e.get("SYSLOG_IDENTIFIER") == "parleyd"]
        assert any("70-typo.toml" in m and "rate" in m for m in errors), errors
    finally:
        bad.unlink()


def test_sigterm_while_speaking_stops_within_a_second(unit, control, fake, gpio, starvation):
    fake.configure(response_audio_seconds=8.0)
    voided = []
    for _ in range(REPEATS):
        unit.ensure_running()
        wait_session(control, unit)
        gpio.press()
        gpio.wait_lit({"listen"})
        time.sleep(0.3)
        gpio.release()
        control.wait_turn("speaking", timeout=15)
        time.sleep(0.5)
        t0 = now_us()
        run("systemctl", "stop", unit.NAME)
        props = unit.show("InactiveEnterTimestampMonotonic", "Result", "ExecMainStatus")
        stop_ms = (int(props["InactiveEnterTimestampMonotonic"]) - t0) / 1000
        assert props["Result"] == "success" and props["ExecMainStatus"] == "0", props
        assert gpio.lit() == set(), "the LEDs stay lit after stop"
        span = (t0 / 1e6, t0 / 1e6 + stop_ms / 1000)
        paused = starvation.lost_ms(*span)  # the emulator's, in slices under 40 ms
        # A stop during a stall, or one the guest's CPUs sat out a fifth of in shorter gaps,
        # times the emulator: TCG then runs the guest slower even between the gaps the probe
        # sees (hog run 11: 2108 ms, 783 of them paused). Idle, the probe sees next to none.
        if starvation.during(*span) or paused >= STARVED_SHARE * stop_ms:
            voided.append(f"{stop_ms:.0f} ms, {paused:.0f} paused")
            starvation.void("stop")
            continue
        sample("stop_ms", stop_ms)
        assert stop_ms - paused < 1000, f"stopped {stop_ms:.0f} ms after SIGTERM ({paused:.0f} ms of it the guest did not run)"
    if len(voided) == REPEATS:
        pytest.skip(f"the host starved the VM in every stop: {'; '.join(voided)}")


def test_the_key_comes_by_credential_and_never_reaches_the_journal(unit, control):
    assert "LoadCredential=openai-key:" in "".join(run("systemctl", "cat", unit.NAME).stdout.split())
    # Connected to a server that refuses any other key: it was used.
    assert control.status()["state"]["link"] == "connected"
    journal = run("journalctl", "-b", "--no-pager", "-o", "verbose").stdout
    assert KEY not in journal and KEY[-8:] not in journal
    assert KEY not in unit.show("Environment")["Environment"]


def test_systemd_analyze_rates_the_sandbox_ok(measured):
    out = run("systemd-analyze", "security", "--no-pager", "parleyd.service", check=False).stdout
    exposure = float(re.search(r"Overall exposure level for parleyd.service: ([\d.]+)", out).group(1))
    measured["security_exposure"] = exposure
    assert exposure <= 2.0, out


ATTACH_AND_OPEN = r"""
import os, sys
open(sys.argv[1] + "/cgroup.procs", "w").write(str(os.getpid()))
for path in sys.argv[2:]:
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))
        print(path, "ok")
    except OSError as e:
        print(path, e.strerror)
"""


def test_the_device_list_holds_in_the_service(unit, control):
    """A process in the service's cgroup (where DeviceAllow= is enforced) opens the card and
    the GPIO chip but no other device."""
    cgroup = "/sys/fs/cgroup" + unit.show("ControlGroup")["ControlGroup"]
    chip = sorted(str(p) for p in Path("/dev").glob("gpiochip*"))[0]
    out = run(sys.executable, "-c", ATTACH_AND_OPEN, cgroup, "/dev/snd/controlC0", chip, "/dev/ttyS0", "/dev/kmsg",
              "/dev/vda" if Path("/dev/vda").exists() else "/dev/mem").stdout
    results = dict(line.split(" ", 1) for line in out.splitlines())  # "path ok" or "path <strerror>"
    assert results["/dev/snd/controlC0"] == "ok" and results[chip] == "ok", out
    refused = [p for p, r in results.items() if p not in ("/dev/snd/controlC0", chip)]
    assert all(results[p] == "Operation not permitted" for p in refused), out


def test_udev_names_the_card_and_gives_the_gpio_group_its_chip():
    # The test rule (61-parley-hil.rules, in 61-parley-audio.rules' form) renamed the card.
    assert Path("/proc/asound/card0/id").read_text().strip() == "parley"
    # 60-parley-gpio.rules: the chip belongs to the gpio group, rw for it.
    for chip in Path("/dev").glob("gpiochip*"):
        st = chip.stat()
        assert (st.st_mode & 0o777, run("stat", "-c", "%G", str(chip)).stdout.strip()) == (0o660, "gpio"), chip
    # The installed rules parse: udevadm reads every rules file (it says so with --debug) and
    # names the file and line of anything it cannot parse ("…rules:12 Invalid key/value pair").
    out = run("udevadm", "--debug", "test", "--action=add", "/class/sound/card0", check=False)
    text = out.stdout + out.stderr
    for rules in ("60-parley-gpio.rules", "61-parley-audio.rules"):
        assert f"Reading rules file: /usr/lib/udev/rules.d/{rules}" in text, f"udevadm did not read {rules}"
        complaints = [line for line in text.splitlines()
                      if f"{rules}:" in line and re.search(r"invalid|error|ignor|unknown", line, re.I)]
        assert not complaints, complaints


def test_the_seccomp_filter_refused_nothing_this_boot(unit):
    no_syscall_refused(unit)
