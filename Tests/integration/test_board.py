"""The board through the real daemon: the simulated board's buttons pressed over the
control socket (PTT long press, cancel, volume), LED patterns following the states, cues
from WAV files named in the board profile, and the libgpiod board's missing-chip error
(this machine has no GPIO chip; gpio-sim runs in the hardware-in-the-loop VM)."""
import math
import signal
import struct
import time
import wave
from datetime import datetime

from audio import samples_of_wav, spoken_fixture, tone_power
from conftest import BASE_CONFIG, run_parleyd
from test_control_socket import Control, start


def tone_at(out, hz, rate=48000, threshold=0.5):
    """First 20 ms block (10 ms hops) where `hz` dominates; None if never."""
    return next((i for i in range(0, len(out) - 960, 480) if tone_power(out[i:i + 960], rate, hz) > threshold), None)


def write_tone_wav(path, hz, rate=16000, seconds=0.15, channels=2):
    frames = [int(12000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(int(rate * seconds))]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<" + "h" * channels, *([x] * channels)) for x in frames))


def leds(control):
    return {led["name"]: led["pattern"] for led in control.status()["leds"]}


def test_led_profile_follows_the_state_machine(daemon, tmp_path):
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "Check the compressor on unit nine.", lead=0.3, tail=3.0)
    profile = """
[board.leds.green]
line = "led_green"
ready = "on"
listening = "on"
speaking = "heartbeat"
[board.leds.red]
line = "led_red"
listening = "on"
thinking = "pulse"
"""
    d = daemon(config=BASE_CONFIG + profile,
               env={"PARLEY_CONTROL__SOCKET": str(tmp_path / "ctl.sock"), "PARLEY_SIM_MIC": str(mic)}).start()
    d.notify.wait_for("READY=1")
    control = Control(tmp_path / "ctl.sock")
    deadline = time.monotonic() + 5
    while leds(control) != {"green": "on", "red": "off"} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leds(control) == {"green": "on", "red": "off"}
    assert control.status()["board"] == "sim"
    control.ctl("ptt", "press")
    assert leds(control) == {"green": "on", "red": "on"}
    time.sleep(len(said) / 48000 - 2.8)
    control.ctl("ptt", "release")
    seen = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = control.status()  # LEDs and turn from one reply
        now = {led["name"]: led["pattern"] for led in status["leds"]}
        if not seen or seen[-1] != now:
            seen.append(now)
        if status["state"]["turn"] == "idle" and len(seen) > 1:
            break
        time.sleep(0.01)
    assert {"green": "off", "red": "pulse"} in seen or seen[0] == {"green": "on", "red": "on"}, seen
    assert {"green": "heartbeat", "red": "off"} in seen, seen
    deadline = time.monotonic() + 2  # the LEDs follow the state change a moment later
    while leds(control) != {"green": "on", "red": "off"} and time.monotonic() < deadline:
        time.sleep(0.01)
    assert leds(control) == {"green": "on", "red": "off"}, seen
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_a_long_hold_in_hold_mode_is_a_long_question_and_logs_no_long_press(daemon, tmp_path):
    d, control = start(daemon, tmp_path, extra_env={"PARLEY_PTT__LONG_PRESS_MS": "600"})
    control.ctl("ptt", "press")
    time.sleep(0.9)  # held past ptt.long_press_ms
    assert control.status()["state"]["turn"] == "listening"
    control.ctl("ptt", "release")
    d.wait_log("button: pttReleased")
    assert "button: pttPressed" in d.log
    assert "pttLongPressed" not in d.log  # in hold mode a long press means nothing


def test_long_press_in_toggle_mode_cancels_with_a_cue_and_sends_nothing(daemon, tmp_path):
    d, control = start(daemon, tmp_path, extra_env={"PARLEY_PTT__MODE": "toggle", "PARLEY_PTT__LONG_PRESS_MS": "600"})
    assert {led["name"]: led["pattern"] for led in control.status()["leds"]} == {"status": "heartbeat"}
    control.ctl("ptt", "press")
    assert control.status()["state"]["turn"] == "listening"
    assert leds(control) == {"status": "on"}
    time.sleep(0.9)  # held past ptt.long_press_ms
    assert control.status()["state"]["turn"] == "idle"
    control.ctl("ptt", "release")
    assert control.status()["state"]["turn"] == "idle"  # the release ends nothing more
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics["parley_turns_total"] == 0
    time.sleep(0.5)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    out, _ = samples_of_wav(tmp_path / "speaker.wav")
    listening, cancelled = tone_at(out, 880), tone_at(out, 330)
    assert listening is not None and cancelled is not None, (listening, cancelled)
    # The long press at 600 ms, timed by the daemon's own clock (its log's timestamps): the
    # speaker file cannot time it, being short by whatever a playback thread stalled past five
    # periods did not write (the Pacer starts afresh rather than rush; CI read 500 ms once).
    pressed, long_pressed = (logged_at(d.log, f"button: {event}") for event in ("pttPressed", "pttLongPressed"))
    assert 0.58 < long_pressed - pressed < 0.9, (pressed, long_pressed)  # each line logged a moment after its event
    assert 0.3 * 48000 < cancelled - listening < 1.2 * 48000  # the cancel cue after the listening one, not at once


def logged_at(log: str, text: str) -> float:
    """When the first line with `text` was logged (its timestamp, 2026-12-06T19:24:24.941Z), in s."""
    line = next(line for line in log.splitlines() if text in line)
    return datetime.fromisoformat(line.split()[0]).timestamp()


def test_cancel_button_stops_the_answer_and_volume_buttons_step(daemon, tmp_path):
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "Read me the whole maintenance log for the north pump station please.",
                          lead=0.3, tail=4.0)
    d, control = start(daemon, tmp_path, mic)
    control.ctl("ptt", "press")
    time.sleep(len(said) / 48000 - 3.8)
    control.ctl("ptt", "release")
    control.wait_turn("speaking")
    time.sleep(0.5)
    assert control.ctl("button", "cancel").stdout.strip() == "cancel tapped"
    assert control.status()["state"]["turn"] == "idle"  # at once, not when the echo ends
    assert control.request({"command": "metrics"})["metrics"]["parley_barge_ins_total"] == 1
    volume = control.status()["audio"]["volumePercent"]
    control.request({"command": "button", "button": "volume_up", "action": "tap"})
    assert control.status()["audio"]["volumePercent"] == min(100, volume + 10)
    control.ctl("button", "volume_down")
    control.ctl("button", "volume_down")
    assert control.status()["audio"]["volumePercent"] == min(100, volume + 10) - 20
    bad = control.request({"command": "button", "button": "eject", "action": "tap"})
    assert not bad["ok"] and "volume_up, volume_down, cancel" in bad["error"]
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert "button: cancel" in d.log


def test_cues_from_wav_files_and_switched_off(daemon, tmp_path):
    write_tone_wav(tmp_path / "listen.wav", 1500)  # 16 kHz stereo: resampled and mixed down
    d, control = start(daemon, tmp_path, extra_env={
        "PARLEY_BOARD__CUES__LISTENING": str(tmp_path / "listen.wav"),
        "PARLEY_BOARD__CUES__TOO_SHORT": "off"})
    control.ctl("ptt", "press")
    control.ctl("ptt", "release")  # too short: its cue is off
    time.sleep(0.6)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    out, _ = samples_of_wav(tmp_path / "speaker.wav")
    assert tone_at(out, 1500) is not None
    assert tone_at(out, 880) is None  # the built-in listening cue was replaced
    assert tone_at(out, 440) is None  # too short: off


def test_an_unusable_cue_file_is_a_config_error_naming_key_and_file(daemon, tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    d = daemon(env={"PARLEY_BOARD__CUES__ERROR": str(tmp_path / "bad.wav")}).start()
    assert d.wait(timeout=10) == 78
    assert f'board.cues.error = "{tmp_path / "bad.wav"}"' in d.log
    assert "16-bit PCM WAV" in d.log
    # check-config reads the cue files as the daemon will.
    checked = run_parleyd("check-config", "--config", str(tmp_path / "parley.toml"),
                          env={"PARLEY_BOARD__CUES__ERROR": str(tmp_path / "bad.wav")})
    assert checked.returncode == 78 and "board.cues.error" in checked.stderr


def test_a_missing_gpio_chip_is_waited_for_listing_what_exists(daemon, tmp_path):
    """Regression: a chip not there at start exited 78, which systemd never restarts: the device
    stayed down after its HAT finished probing. Now it comes up and waits (one line); the HIL
    suite shows the chip claimed when it appears."""
    d, control = start(daemon, tmp_path, extra_env={"PARLEY_BOARD__KIND": "gpio", "PARLEY_BOARD__CHIP": "parley-test-chip"})
    assert 'GPIO chip "parley-test-chip" not found (board.chip)' in d.log
    assert "no GPIO chips at all" in d.log  # this machine has none
    assert "waiting for it: buttons and LEDs start when it appears" in d.log
    assert control.status()["board"] == "gpio: waiting for chip parley-test-chip"
    time.sleep(2.5)  # checked once a second: still one line
    assert d.log.count("parley-test-chip") == 1, d.log
    control.ctl("ptt", "press")  # the socket's button works meanwhile
    assert control.status()["state"]["turn"] == "listening"
    control.ctl("ptt", "release")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_missing_gpio_chip_with_board_not_required_runs_on(daemon, tmp_path):
    d, control = start(daemon, tmp_path, extra_env={
        "PARLEY_BOARD__KIND": "gpio", "PARLEY_BOARD__CHIP": "parley-test-chip", "PARLEY_BOARD__REQUIRED": "false"})
    assert "running without it (board.required = false)" in d.log
    assert control.status()["board"] == "gpio: no chip"
    control.ctl("ptt", "press")  # the socket's button still works
    assert control.status()["state"]["turn"] == "listening"
    control.ctl("ptt", "release")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
