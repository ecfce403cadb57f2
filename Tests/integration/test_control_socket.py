"""The control socket and parleyctl driving the real daemon on the simulated board and the
echo backend: a push-to-talk turn end to end (a spoken fixture in, its echo out of the
speaker), LEDs following the states, cues in the speaker output, typed turns, mute, and
bad requests answered and survived."""
import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from parleyd_process import PARLEYCTL, Control  # noqa: F401  (re-exported)
from audio import best_correlation, envelope, samples_of_wav, spoken_fixture, tone_power

def start(daemon, tmp_path, mic=None, extra_env=None):
    env = {"PARLEY_CONTROL__SOCKET": str(tmp_path / "ctl" / "control.sock"),
           "PARLEY_SIM_MIC": str(mic) if mic else "/dev/zero"}
    env.update(extra_env or {})
    d = daemon(env=env).start()
    d.notify.wait_for("READY=1")
    control = Control(tmp_path / "ctl" / "control.sock")
    assert (tmp_path / "ctl" / "control.sock").exists()  # listening before READY
    return d, control


def test_push_to_talk_turn_end_to_end_through_the_socket(daemon, tmp_path):
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "The pressure in line four reads ninety PSI.", lead=0.8, tail=2.0)
    d, control = start(daemon, tmp_path, mic)
    assert control.ctl("ptt", "press").stdout.strip() == "ptt pressed"
    seen = []
    time.sleep(len(said) / 48000 - 1.6)
    assert control.ctl("ptt", "release").returncode == 0
    control.wait_turn("speaking", seen=seen)
    control.wait_turn("idle", seen=seen)
    assert seen[:3] == ["thinking", "speaking", "ready"] or seen[:2] == ["speaking", "ready"], seen
    status = control.status()
    assert status["lastUserTranscript"].endswith("s of audio)")
    assert status["audio"]["voiceSeconds"] > 0.5 and status["audio"]["voiceActive"] in (True, False), status["audio"]
    assert "voice " in control.ctl("status").stdout  # and the human status says so
    d.signal(signal.SIGTERM)
    assert d.wait() == 0

    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    assert rate == 48000
    # The echo of the words is in the speaker output: envelopes correlate strongly.
    words = said[int(0.8 * 48000):len(said) - 2 * 48000]
    score, offset = best_correlation(envelope(words, 48000), envelope(out, 48000))
    assert score > 0.8, score
    # The listening cue (880 Hz) played when the button went down, before the echo.
    cue_at = next(i for i in range(0, len(out) - 960, 480) if tone_power(out[i:i + 960], 48000, 880) > 0.5)
    assert cue_at < offset * 480, (cue_at, offset)


def test_leds_and_state_follow_the_buttons_and_status_reports_devices(daemon, tmp_path):
    d, control = start(daemon, tmp_path)
    status = control.status()
    assert status["state"] == {"link": "connected", "session": "created", "turn": "idle", "indicator": "ready",
                               "audioLost": False, "muted": False}
    assert status["audio"]["captureDevice"] == "parley_sim_mic"
    assert status["audio"]["scheduling"] == "normal priority (configured)"
    assert status["backend"] == "echo"
    control.request({"command": "ptt", "action": "press"})
    assert control.status()["state"]["indicator"] == "listening"
    reply = control.request({"command": "ptt", "action": "release"})  # a tap: too short
    assert reply["ok"]
    assert control.status()["state"]["indicator"] == "ready"
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics["parley_too_short_turns_total"] == 1
    assert metrics["parley_turns_total"] == 0
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_typed_turn_mute_and_volume(daemon, tmp_path):
    d, control = start(daemon, tmp_path)
    assert control.ctl("say", "is", "the", "pump", "on").stdout.strip() == "said: is the pump on"
    status = control.status()
    assert status["lastUserTranscript"] == "is the pump on"
    control.wait_turn("idle", timeout=20)  # the echo backend speaks the text back
    assert control.ctl("mute", "on").returncode == 0
    assert control.status()["state"]["muted"] is True
    control.ctl("ptt", "press")
    assert control.status()["state"]["turn"] == "idle"  # muted: no turn starts
    control.ctl("ptt", "release")
    control.ctl("mute", "off")
    assert control.ctl("volume", "35").stdout.strip() == "volume 35%"
    assert control.status()["audio"]["volumePercent"] == 35
    assert control.ctl("volume", "135").returncode != 0
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_a_typed_turn_on_the_echo_backend_is_spoken_back(daemon, tmp_path):
    d, control = start(daemon, tmp_path)
    control.ctl("say", "the", "pump", "on", "the", "second", "floor", "is", "leaking")
    control.wait_turn("speaking", timeout=10)
    control.wait_turn("idle", timeout=20)
    assert control.status()["lastAssistantTranscript"] == "the pump on the second floor is leaking"
    time.sleep(0.3)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    # espeak-ng's words at the speaker: more than a second of sound.
    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    words = envelope(out, rate)
    assert sum(1 for x in words if x > 300) * 0.01 > 1.0


def test_bad_requests_get_errors_and_the_socket_survives(daemon, tmp_path):
    d, control = start(daemon, tmp_path)
    mode = stat.S_IMODE(os.stat(control.path).st_mode)
    assert mode == 0o660
    assert control.request(b"not json\n") == {
        "ok": False,
        "error": 'not a request: expected one JSON object per line with a "command" '
                 '(one of status, ptt, button, say, volume, mute, reconnect, metrics)'}
    assert "unknown command \"jump\"" in control.request({"command": "jump"})["error"]
    assert control.request({"command": "ptt", "action": "hold"})["error"] == 'ptt needs "action": press, release or tap'
    huge = control.request(b'{"command":"say","text":"' + b"a" * 20000 + b'"}\n')
    assert huge == {"ok": False, "error": "request line longer than 16384 bytes"}
    # Two requests on one connection, then the daemon is still fine.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(control.path)
        s.sendall(b'{"command":"status"}\n{"command":"metrics"}\n')
        f = s.makefile()
        assert json.loads(f.readline())["ok"] and json.loads(f.readline())["ok"]
    assert control.status()["state"]["turn"] == "idle"
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert not Path(control.path).exists()  # removed on the way out


def test_parleyctl_says_how_to_check_the_service_when_the_daemon_is_down(tmp_path):
    r = subprocess.run([PARLEYCTL, "status", "--socket", str(tmp_path / "none.sock")], capture_output=True, text=True)
    assert r.returncode == 69
    assert "cannot reach parleyd" in r.stderr and "systemctl status parleyd" in r.stderr


def test_parleyctl_takes_its_options_before_the_subcommand_and_says_its_version(daemon, tmp_path):
    d, control = start(daemon, tmp_path)
    sock = str(control.path)
    ctl = lambda *args: subprocess.run([PARLEYCTL, *args], capture_output=True, text=True, timeout=10)  # noqa: E731
    r = ctl("--socket", sock, "ptt", "press")
    assert r.returncode == 0, r.stderr
    assert control.status()["state"]["turn"] == "listening"
    assert ctl(f"--socket={sock}", "ptt", "release").returncode == 0
    assert json.loads(ctl("--json", "--socket", sock, "status").stdout)["status"]["state"]["turn"] in ("thinking", "speaking", "idle")
    assert ctl("--socket", sock).stdout.startswith("parleyd ")  # no subcommand: status
    assert ctl("--socket", sock, "say", "hello", "there").returncode == 0
    version = ctl("--version")
    assert version.returncode == 0 and version.stdout.strip() == control.status()["version"]
    assert ctl("--socket").returncode != 0  # a value is still needed
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_the_socket_appears_listening_and_with_its_mode(daemon, tmp_path):
    """A client that connects the moment the path appears (parleyctl right after start) is
    let in, and the file never shows another mode: the daemon binds a staging name and
    renames it into place (before, a connect there could be refused)."""
    for start_number in range(5):
        sock = tmp_path / f"ctl{start_number}" / "control.sock"
        d = daemon(env={"PARLEY_CONTROL__SOCKET": str(sock), "PARLEY_SIM_MIC": "/dev/zero"}).start()
        deadline = time.monotonic() + 20
        while True:  # as tight as Python goes: the first moment the path is there
            try:
                mode = stat.S_IMODE(os.stat(sock).st_mode)
                break
            except FileNotFoundError:
                assert time.monotonic() < deadline, d.log
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(sock))  # ECONNREFUSED would fail the test here
        client.close()
        assert mode == 0o660, oct(mode)
        d.notify.wait_for("READY=1")
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        assert not sock.exists() and not Path(f"{sock}.new").exists()


def test_a_socket_that_cannot_be_created_is_a_config_exit_before_ready(daemon):
    d = daemon(env={"PARLEY_CONTROL__SOCKET": "/proc/parley-nope/control.sock"}).start()
    assert d.wait(timeout=10) == 78
    assert "control.socket /proc/parley-nope/control.sock" in d.log
    assert not any(m.startswith("READY=1") for m in d.notify.all())


def test_prometheus_metrics_over_http(daemon, tmp_path):
    import re
    import urllib.error
    import urllib.request
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "Metrics check.", lead=0.5, tail=1.0)
    d, control = start(daemon, tmp_path, mic, extra_env={"PARLEY_METRICS__ENABLED": "true",
                                                          "PARLEY_METRICS__LISTEN": "127.0.0.1:0"})
    d.wait_log("metrics on http://127.0.0.1:")
    url = re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", d.log).group(1)
    control.ctl("ptt", "press")
    time.sleep(len(said) / 48000 - 0.8)
    control.ctl("ptt", "release")
    control.wait_turn("speaking")
    control.wait_turn("idle")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    lines = text.splitlines()
    assert "# TYPE parley_turns_total counter" in lines and "parley_turns_total 1" in lines
    assert "# TYPE parley_turn_latency_seconds histogram" in lines
    assert "parley_turn_latency_seconds_count 1" in lines
    assert 'parley_audio_xruns_total{direction="capture"} 0' in lines
    assert "parley_ready 1" in lines
    # The one device state, as gauges: one series per word, 1 on the current one.
    assert 'parley_link_state{state="connected"} 1' in lines and 'parley_link_state{state="error"} 0' in lines
    assert 'parley_session_state{state="created"} 1' in lines and 'parley_turn_state{state="idle"} 1' in lines
    # dsp.vad feeds the metrics (regression: it was computed every frame and discarded).
    voice = [line for line in lines if line.startswith("parley_audio_voice_seconds_total ")]
    assert voice and float(voice[0].split()[1]) > 0.3, voice
    assert any(line.startswith("parley_audio_voice_active ") for line in lines)
    assert 'parley_backend_errors_total{kind="connection"} 0' in lines
    cpu = [line for line in lines if line.startswith('parley_audio_thread_cpu_percent{thread="capture"}')]
    assert cpu and 0 < float(cpu[0].split()[1]) < 100, cpu  # the capture thread did work
    # Every sample line is `name{labels} number`, as Prometheus parses it.
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9.e+]+$|^[a-z_]+\{le="\+Inf"\} [0-9]+$')
    assert all(sample.match(line) for line in lines if not line.startswith("#")), text
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=5)
    assert missing.value.code == 404
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_a_metrics_port_in_use_is_logged_and_the_daemon_runs_on(daemon, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        d, control = start(daemon, tmp_path, extra_env={"PARLEY_METRICS__ENABLED": "true",
                                                          "PARLEY_METRICS__LISTEN": f"127.0.0.1:{port}"})
        d.wait_log(f"metrics: cannot listen on 127.0.0.1:{port}")
        assert "choose another metrics.listen" in d.log
        assert control.status()["state"]["indicator"] == "ready"
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
