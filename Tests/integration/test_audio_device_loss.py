"""An audio device that goes away and comes back: the ALSA `pulse` plugin on a PulseAudio
null sink; killing the server is the USB speakerphone being unplugged."""
import signal
import time


def test_device_lost_and_back_without_a_restart(daemon, pulse, tmp_path):
    pulse.start()
    config = ('[audio]\ncapture_device = "pmic"\nplayback_device = "pspk"\nrealtime_priority = 0\n'
              'reopen_max_ms = 400\n[backend]\nkind = "echo"\n')
    d = daemon(config=config, env={"WATCHDOG_USEC": "400000",
                                   "ALSA_CONFIG_PATH": pulse.asoundrc(tmp_path / "asoundrc")}).start()
    d.notify.wait_for("READY=1")
    d.wait_log("session=created turn=idle")

    pulse.kill()
    d.wait_log("audio device lost", timeout=5)
    d.wait_log("audio=lost")  # the state (and the LEDs) show it
    lost = time.monotonic()
    time.sleep(1.5)
    during = d.notify.since(lost)
    assert "WATCHDOG=1" in during, "recovering is not hanging: the watchdog must keep being fed"
    assert any(m.startswith("STATUS=audio device lost") for m in d.notify.all())
    assert d.proc.poll() is None

    pulse.start()
    d.wait_log("audio device back", timeout=10)
    d.wait_log("session=created turn=idle\n", timeout=2)
    # alsa-lib's own error printer is silenced: every line is ours.
    assert all(" parley" in line or line.startswith("20") for line in d.lines if line.strip()), d.log
    assert "ALSA lib" not in d.log

    d.signal(signal.SIGTERM)
    assert d.wait(timeout=3) == 0
