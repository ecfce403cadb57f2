"""Faults on the real kernel: the sound card unbound and bound again (a USB speakerphone
unplugged and back), the GPIO chip gone and back, SIGTERM, and an audio thread that stops
dead while the watchdog runs."""
import signal
import subprocess
import threading
import time
from pathlib import Path

from conftest import SPEAKER, Speaker, hil_config
from hilvm import stop_thread
from parleyd_process import Control, Daemon

ALOOP = Path("/sys/bus/platform/drivers/snd_aloop")


def test_the_card_unbound_and_bound_again_is_recovered_without_a_restart(parleyd, gpio, speaker, host):
    d = parleyd(env={"WATCHDOG_USEC": "2000000"})
    pid = d.proc.pid
    # Unbinding waits until every user of the card has closed it: parleyd must let go.
    unbind = threading.Thread(target=lambda: (ALOOP / "unbind").write_text("snd_aloop.0"))
    unbind.start()
    d.wait_log("audio device lost", timeout=10)
    gpio.wait_lit({"error"})
    unbind.join(timeout=10)
    assert not unbind.is_alive(), "the card could not go: something still holds it"
    lost = time.monotonic()
    time.sleep(1.5)
    assert "WATCHDOG=1" in d.notify.since(lost), "reopening must not starve the watchdog"

    (ALOOP / "bind").write_text("snd_aloop.0")
    d.wait_log("audio device back", timeout=15)
    gpio.wait_lit({"ready"})
    assert d.proc.poll() is None and d.proc.pid == pid

    # And it works: a turn, answered out of the (new) card.
    after = Speaker(SPEAKER)
    try:
        gpio.press()
        gpio.wait_lit({"listen"})
        time.sleep(0.4)
        t_release = gpio.release()
        host.event_after("input_audio_buffer.commit", t_release)
        host.configure(response_audio_seconds=1.0)
        gpio.wait_lit({"speak"}, timeout=10)
    finally:
        after.close()


def test_the_gpio_chip_gone_and_back_is_one_line_each_and_claimed_again(parleyd, gpio, host):
    d = parleyd()
    gpio.press()  # held as the chip goes: the turn must end, not stream until it is back
    gpio.wait_lit({"listen"})
    time.sleep(0.3)
    try:
        t_gone = time.monotonic()
        gpio.set_live(False)  # parleyd holds its lines: the kernel removes the chip anyway
        d.wait_log("board: GPIO chip gpiochip0 [hil-sim] gone", timeout=5)
        host.event_after("input_audio_buffer.commit", t_gone)
        time.sleep(2.5)
        assert d.log.count("board: GPIO chip") == 1, d.log  # one line, not one per check
        assert d.control.status()["board"] == "gpio: chip hil-sim gone"
        assert d.proc.poll() is None
        before = len(host.ask("events", since=0)["events"])
        assert d.control.request({"command": "say", "text": "still here"})["ok"]  # the socket works on
        host.event_after("response.create", time.monotonic() - 1)
        assert len(host.ask("events", since=0)["events"]) > before
    finally:
        gpio.set_live(True)
    d.wait_log("board: GPIO chip back as", timeout=5)
    assert d.control.status()["board"].startswith("gpio gpiochip")
    gpio.wait_lit({"ready"}, timeout=10)  # the LEDs show the state again on the new lines
    gpio.press()
    gpio.wait_lit({"listen"})
    time.sleep(0.4)
    t_release = gpio.release()
    host.event_after("input_audio_buffer.commit", t_release)
    assert d.proc.poll() is None


def test_sigterm_stops_cleanly_and_lets_go_of_the_lines(parleyd, gpio):
    d = parleyd()
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=5) == 0
    d.notify.wait_for("STOPPING=1", timeout=1)
    gpio.wait_lit(set())
    info = subprocess.run(["gpioinfo", "hil-sim"], capture_output=True, text=True, check=True).stdout
    assert all("unused" in line for line in info.splitlines()[1:]), info


def test_a_hung_capture_thread_stops_the_watchdog(parleyd, gpio):
    d = parleyd(env={"WATCHDOG_USEC": "400000"})
    ready = time.monotonic()
    time.sleep(1.0)
    assert sum(m == "WATCHDOG=1" for m in d.notify.since(ready)) >= 3

    tracer = stop_thread(d.proc.pid, "parley-capture")
    d.wait_log("audio capture thread stalled", timeout=5)
    hung = time.monotonic()
    time.sleep(1.5)
    assert "WATCHDOG=1" not in d.notify.since(hung), "the watchdog was fed while the capture thread hung"
    assert d.proc.poll() is None  # systemd, not parleyd, decides: WatchdogSec= kills and restarts it

    # Shutdown still completes: the stuck thread is left behind, not waited for forever.
    d.signal(signal.SIGTERM)
    d.wait(timeout=5)
    assert "did not stop" in d.log
    tracer.wait(timeout=5)


def test_a_gpio_chip_missing_at_start_is_waited_for_not_a_restart_loop(tmp_path, gpio, speaker, host):
    """Regression: a device whose GPIO chip was not there at start (a HAT's expander still
    probing, a USB adapter unplugged) exited 78 and systemd never started it again. Now it comes
    up, says so once, and claims the chip when it appears."""
    gpio.set_live(False)
    d = Daemon(tmp_path, config=hil_config(tmp_path)).start()
    try:
        d.notify.wait_for("READY=1", timeout=30)
        d.wait_log("GPIO chip \"hil-sim\" not found", timeout=5)
        d.wait_log("waiting for it: buttons and LEDs start when it appears")
        control = Control(tmp_path / "control.sock")
        assert control.status()["board"] == "gpio: waiting for chip hil-sim"
        time.sleep(2.5)
        assert d.proc.poll() is None and d.log.count("hil-sim") == 1, d.log
        gpio.set_live(True)
        d.wait_log("board: GPIO chip gpiochip", timeout=10)
        d.wait_log("is here: buttons and LEDs claimed")
        gpio.wait_lit({"ready"}, timeout=20)
        gpio.press()
        gpio.wait_lit({"listen"})
        time.sleep(0.4)
        t_release = gpio.release()
        host.event_after("input_audio_buffer.commit", t_release)
    finally:
        d.stop()  # first: a daemon left holding the lines would fail every later scenario
        gpio.set_live(True)
        print(f"parleyd log:\n{d.log}")
