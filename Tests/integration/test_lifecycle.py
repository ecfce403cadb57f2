"""The daemon's lifetime under a systemd-like supervisor: READY, WATCHDOG, STOPPING, signals."""
import os
import signal
import threading
import time

from conftest import BASE_CONFIG
from parleyd_process import SIM_ALSA


def test_ready_watchdog_and_clean_stop_on_sigterm(daemon):
    d = daemon(env={"WATCHDOG_USEC": "200000"}).start()
    ready = d.notify.wait_for("READY=1")
    d.wait_log("state: link=connected session=created turn=idle")
    time.sleep(1.0)
    pings = [m for m in d.notify.since(ready) if m == "WATCHDOG=1"]
    assert len(pings) >= 7, d.notify.all()  # one per 100 ms (half of WATCHDOG_USEC)
    assert any(m.startswith("STATUS=link=connected session=created turn=idle") for m in d.notify.all())
    # What systemctl status shows is the latest STATUS=, READY's included: the state, never a
    # fixed startup text sent over it.
    statuses = [line for m in d.notify.all() for line in m.splitlines() if line.startswith("STATUS=")]
    assert statuses[-1].startswith("STATUS=link=connected session=created turn=idle"), statuses

    sent = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=2) == 0
    elapsed = time.monotonic() - sent
    assert elapsed < 1.0, f"took {elapsed:.2f}s to stop"
    d.notify.wait_for("STOPPING=1", timeout=0.5)
    assert "stopping" in d.log and "stopped" in d.log
    # LEDs off at the end (the simulated board logs nothing; the indicator goes off last).


def test_sigint_stops_cleanly(daemon):
    d = daemon().start()
    d.notify.wait_for("READY=1")
    sent = time.monotonic()
    d.signal(signal.SIGINT)
    assert d.wait(timeout=2) == 0
    assert time.monotonic() - sent < 1.0


def test_runs_without_systemd(daemon):
    d = daemon()
    d.env.pop("NOTIFY_SOCKET")
    d.start()
    d.wait_log("ready")
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=2) == 0
    assert d.notify.all() == []


def test_watchdog_stops_when_the_capture_thread_hangs(daemon, tmp_path):
    # The microphone is a FIFO: while we feed it, the capture thread runs; when we stop,
    # the thread blocks inside snd_pcm_readi like a wedged driver, and its heartbeat stops.
    fifo = tmp_path / "mic.fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # RDWR: opening never blocks and reads never see EOF
    feeding = threading.Event()
    feeding.set()

    def feed():
        chunk = bytes(960 * 10)  # 100 ms of 48 kHz mono S16
        while feeding.is_set():
            os.write(writer, chunk)
            time.sleep(0.1)

    threading.Thread(target=feed, daemon=True).start()
    d = daemon(env={"WATCHDOG_USEC": "200000", "PARLEY_SIM_MIC": str(fifo)}).start()
    ready = d.notify.wait_for("READY=1")
    time.sleep(1.0)
    assert sum(m == "WATCHDOG=1" for m in d.notify.since(ready)) >= 5

    feeding.clear()
    d.wait_log("audio capture thread stalled", timeout=3)
    hung = time.monotonic()
    time.sleep(1.0)
    assert "WATCHDOG=1" not in d.notify.since(hung), "watchdog pinged while the capture thread was hung"
    assert any("audio capture thread stalled" in m for m in d.notify.all())

    # Shutdown still completes: the stuck thread is left behind, not waited for forever.
    sent = time.monotonic()
    d.signal(signal.SIGTERM)
    d.wait(timeout=3)
    assert time.monotonic() - sent < 1.0
    assert "did not stop" in d.log
    os.close(writer)


def test_without_its_sound_card_the_daemon_waits_for_it_instead_of_restart_looping(daemon, tmp_path):
    """Regression: with no sound card the daemon exited 69, and under Restart=always it came back
    every ~2.2 s writing ~7 journal lines a cycle, forever. Now it comes up (READY, audio=lost in
    the state the LEDs and STATUS= show), reopens with backoff, says so once (then at most a line
    a minute), and takes the card when it appears."""
    late = tmp_path / "late.conf"
    late.write_text("# the card is not here yet\n")
    d = daemon(config=BASE_CONFIG.replace('"parley_sim_mic"', '"parley_late_mic"'),
               env={"ALSA_CONFIG_PATH": f"{SIM_ALSA}:{late}", "PARLEY_AUDIO__REOPEN_MAX_MS": "300"}).start()
    d.notify.wait_for("READY=1", timeout=5)
    d.wait_log("audio=lost")
    assert any(m.startswith("STATUS=audio device lost") for m in d.notify.all())
    time.sleep(3)  # ten or more reopen attempts
    assert d.proc.poll() is None
    outage = [line for line in d.lines if "audio device" in line]
    assert len(outage) == 1, outage
    assert 'audio device lost (audio device "parley_late_mic": cannot open' in outage[0]
    assert " ERROR " in outage[0] or outage[0].startswith("<3>"), outage[0]

    late.write_text('pcm.parley_late_mic { type file slave.pcm "null" file "/dev/null" infile "/dev/zero" format "raw" }\n')
    d.wait_log("audio device back after", timeout=5)
    d.wait_log("state: link=connected session=created turn=idle", timeout=5)
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=3) == 0


