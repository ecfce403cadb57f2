"""The echo-delay probe on real paced devices: a private PulseAudio server whose null
sink's monitor is the microphone, so the mic hears exactly what the speaker played, later
by PulseAudio's own buffering — a delay ALSA's snd_pcm_delay does not report to us."""
import re
import signal

import pytest

AUDIO = ('[audio]\ncapture_device = "{mic}"\nplayback_device = "pspk"\nrealtime_priority = 0\n'
         '[dsp]\naec_delay_probe = true\n[backend]\nkind = "echo"\n')


def asoundrc(pulse, tmp_path):
    conf = pulse.asoundrc(tmp_path / "asoundrc")
    with open(tmp_path / "asoundrc", "a") as f:  # a mic that hears the speaker
        f.write(f'pcm.pecho {{ type pulse server "unix:{pulse.socket}" device "spk.monitor" }}\n')
    return conf


def test_probe_measures_the_echo_delay_and_moves_the_reference(daemon, pulse, tmp_path):
    pulse.start()
    d = daemon(config=AUDIO.format(mic="pecho"), env={"ALSA_CONFIG_PATH": asoundrc(pulse, tmp_path)}).start()
    d.notify.wait_for("READY=1")
    d.wait_log("echo-delay probe:", timeout=20)
    m = re.search(r"echo-delay probe: the echo followed the reference by ([-+]?[\d.]+) ms \(clarity (\d+)\); "
                  r"reference lead corrected by ([-+]?[\d.]+) ms to keep it 5 ms ahead", d.log)
    assert m, d.log
    lag, clarity, correction = float(m.group(1)), int(m.group(2)), float(m.group(3))
    assert clarity >= 8
    assert correction == pytest.approx(lag - 5, abs=0.1)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_probe_that_hears_nothing_changes_nothing(daemon, pulse, tmp_path):
    pulse.start()  # pmic: the monitor of a sink nobody plays to — silence
    d = daemon(config=AUDIO.format(mic="pmic"), env={"ALSA_CONFIG_PATH": asoundrc(pulse, tmp_path)}).start()
    d.notify.wait_for("READY=1")
    d.wait_log("echo-delay probe: no clear echo of the sweep in 3 tries", timeout=20)
    assert "reference lead corrected" not in d.log
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
