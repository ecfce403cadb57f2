"""Speaker volume on the card's mixer control (the ALSA `pulse` ctl plugin's Master on a
PulseAudio null sink), live on SIGHUP; a control that does not exist is named with the
ones that do, and volume falls back to software gain."""
import re
import signal


def sink_percent(pulse) -> int:
    return int(re.search(r"(\d+)%", pulse.pactl("get-sink-volume", "spk")).group(1))


AUDIO = '[audio]\ncapture_device = "pmic"\nplayback_device = "pspk"\nrealtime_priority = 0\nmixer_card = "pulse_spk"\n'


def test_volume_goes_to_the_mixer_control_and_follows_reload(daemon, pulse, tmp_path):
    pulse.start()
    d = daemon(config=AUDIO + 'playback_mixer_control = "Master"\nvolume = 40\n[backend]\nkind = "echo"\n',
               env={"ALSA_CONFIG_PATH": pulse.asoundrc(tmp_path / "asoundrc")}).start()
    d.notify.wait_for("READY=1")
    assert sink_percent(pulse) == 40
    (tmp_path / "conf.d" / "50-volume.toml").write_text("[audio]\nvolume = 70\n")
    d.signal(signal.SIGHUP)
    d.wait_log("reload applied: audio.volume")
    assert sink_percent(pulse) == 70
    assert "mixer" not in d.log  # no complaints
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_unknown_control_is_named_with_those_found_and_playback_goes_on(daemon, pulse, tmp_path):
    pulse.start()
    d = daemon(config=AUDIO + 'playback_mixer_control = "Speaker"\ncapture_mixer_control = "Capture"\n'
               '[backend]\nkind = "echo"\n',
               env={"ALSA_CONFIG_PATH": pulse.asoundrc(tmp_path / "asoundrc")}).start()
    d.notify.wait_for("READY=1")
    d.wait_log('no playback mixer control "Speaker" (controls: Master, Capture); volume and mic gain stay in software')
    assert sink_percent(pulse) == 100  # untouched
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_capture_control_without_a_db_scale_keeps_gain_in_software(daemon, pulse, tmp_path):
    pulse.start()
    d = daemon(config=AUDIO + 'capture_mixer_control = "Capture"\n[backend]\nkind = "echo"\n',
               env={"ALSA_CONFIG_PATH": pulse.asoundrc(tmp_path / "asoundrc")}).start()
    d.notify.wait_for("READY=1")
    d.wait_log('capture control "Capture" on pulse_spk has no dB scale: mic gain stays in software')
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
