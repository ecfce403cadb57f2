"""parleyd on the rt session relay (seed 001) through its fake: a push-to-talk turn whose
audio is uploaded and answered over SSE, a typed turn, barge-in, the relay's error bodies,
a malformed stream message, dropped streams, a session the relay forgot (503), and the
relay down."""
import signal
import time

import pytest

from audio import best_correlation, envelope, samples_of_wav, spoken_fixture, tone_power
from conftest import start_on_backend
from fake_rt_relay import FakeRTRelay
from test_control_socket import Control
from test_openai_backend import ready, wait_for

KEY = "rt-test-key-0123456789"


@pytest.fixture
def relay():
    server = FakeRTRelay(api_key=KEY).start()
    yield server
    assert server.violations == [], server.violations


def start(daemon, tmp_path, relay, mic="/dev/zero", key=KEY):
    d = start_on_backend(daemon, tmp_path, "rt_relay", f'base_url = "{relay.url}"', key, mic)
    return d, Control(tmp_path / "control.sock")


def test_push_to_talk_turn_uploads_audio_and_plays_the_answer(daemon, tmp_path, relay):
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "Check the condenser fan on unit seven.", lead=1.0, tail=2.0)
    d, control = start(daemon, tmp_path, relay, mic)
    ready(control)
    starts = [body for method, path, body in relay.requests if path == "/api/rt/start"]
    assert starts[0]["provider"] == "openai" and starts[0]["model"] == "gpt-realtime" and starts[0]["apiKey"] == KEY
    assert all(relay.stream_opens[s] == 1 for s in relay.stream_opens)
    control.ctl("ptt", "press")
    time.sleep(len(said) / 48000 - 1.8)
    control.ctl("ptt", "release")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="idle after the answer")
    paths = relay.paths()
    appends = [body for method, path, body in relay.requests if path == "/api/rt/audio-append"]
    assert len(appends) >= 10 and all(b["sessionId"] == starts[0]["sessionId"] for b in appends)
    assert paths.index("/api/rt/audio-commit") > max(i for i, p in enumerate(paths) if p == "/api/rt/audio-append")
    status = control.status()
    assert status["lastAssistantTranscript"] == "Echo of your turn."
    assert status["lastUserTranscript"].startswith("(you said")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert "/api/rt/stop" in relay.paths()  # the session is handed back
    assert KEY not in d.log
    # What the relay played back (the uploaded turn) reached the speaker.
    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    words = said[int(1.0 * 48000):len(said) - 2 * 48000]
    score, _ = best_correlation(envelope(words, 48000), envelope(out, rate))
    assert score > 0.8, score


def test_typed_turn_and_barge_in_drops_the_rest_of_the_answer(daemon, tmp_path, relay):
    relay.speak_pace = 1.0  # real time: the answer lasts 1 s
    d, control = start(daemon, tmp_path, relay)
    ready(control)
    control.ctl("say", "is the pump on")
    wait_for(lambda: [b for m, p, b in relay.requests if p == "/api/rt/text"], what="text posted")
    assert [b["text"] for m, p, b in relay.requests if p == "/api/rt/text"] == ["is the pump on"]
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    control.ctl("button", "cancel")
    assert control.status()["state"]["turn"] == "idle"
    time.sleep(1.5)  # the interrupted answer's remaining audio arrives and is dropped
    assert control.status()["state"]["turn"] == "idle"
    assert control.request({"command": "metrics"})["metrics"]["parley_barge_ins_total"] == 1
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def seconds_of_tone(samples, rate, hz):
    """How long `hz` dominates 20 ms blocks of `samples` (a square wave's fundamental)."""
    block = rate // 50
    return sum(0.02 for i in range(0, len(samples) - block, block)
               if max(abs(x) for x in samples[i:i + block]) > 1000
               and tone_power(samples[i:i + block], rate, hz) > 0.3)


def test_an_interrupted_answer_still_streaming_never_plays(daemon, tmp_path, relay):
    """Regression: the relay (no cancel route) streams the interrupted answer to its end; that
    audio played after the next turn's answer. Only the next answer may play, and the
    answers' audio_done messages are no protocol errors."""
    relay.speak_pace = 1.0
    relay.text_tone = (500, 3.0)  # a long answer, interrupted after about half a second
    d, control = start(daemon, tmp_path, relay)
    ready(control)
    control.ctl("say", "read me the whole manual")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    time.sleep(0.5)
    relay.text_tone = (1000, 1.0)  # the next answer, queued behind the rest of the first
    control.ctl("say", "just the pressure")  # barge-in
    try:
        wait_for(lambda: control.status()["state"]["turn"] == "speaking", timeout=10, what="the next answer")
    finally:
        print(d.log)
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=10, what="idle after it")
    time.sleep(0.5)
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="protocol"}'] == 0, d.log
    assert "audio message without audio" not in d.log
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    first, second = seconds_of_tone(out, rate, 500), seconds_of_tone(out, rate, 1000)
    assert second > 0.7, (first, second)
    assert first < 1.2, f"{first:.2f} s of the interrupted answer played (about 0.5 s before the barge-in)"


def test_refused_start_shows_the_relays_error_and_retries_slowly(daemon, tmp_path, relay):
    d, control = start(daemon, tmp_path, relay, key="rt-wrong-key-000000")
    d.wait_log("rt_relay: POST /api/rt/start: HTTP 401 Authentication failed: invalid API key")
    wait_for(lambda: control.status()["state"]["indicator"] == "error", what="error LED")
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="auth"}'] >= 1
    time.sleep(2.5)
    starts = relay.paths().count("/api/rt/start")
    assert 1 <= starts <= 3  # at reconnect_max_ms, not hammering
    assert sum("HTTP 401" in line for line in d.lines) == 1  # one line per outage
    assert "rt-wrong-key" not in d.log
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_server_errors_malformed_messages_and_a_forgotten_session(daemon, tmp_path, relay):
    relay.malformed_audio = True
    d, control = start(daemon, tmp_path, relay)
    ready(control)
    first = relay.sessions and list(relay.sessions)[0]
    control.ctl("say", "first")
    d.wait_log("rt_relay: audio stream: audio is not base64 PCM16")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=10, what="answer played despite the bad message")
    assert control.status()["lastAssistantTranscript"] == "Echo of your turn."
    # The relay forgets the session: streams close, requests get 503 → a new session.
    relay.end_session()
    d.wait_log("says it is not active", timeout=10)  # an outage: error, then a new session
    d.wait_log("rt_relay: connected again", timeout=10)
    wait_for(lambda: len(relay.sessions) == 1 and list(relay.sessions)[0] != first, what="new session")
    ready(control)
    control.ctl("say", "second")
    wait_for(lambda: control.status()["state"]["turn"] in ("speaking", "idle") and
             relay.paths().count("/api/rt/text") == 2, what="second turn")
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="protocol"}'] >= 1
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_dropped_streams_reconnect_and_the_next_turn_works(daemon, tmp_path, relay):
    relay.drop_streams_after_answer = True
    d, control = start(daemon, tmp_path, relay)
    ready(control)
    control.ctl("say", "one")
    wait_for(lambda: all(n >= 2 for n in relay.stream_opens.values()), timeout=10, what="streams reopened")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", what="idle")
    relay.drop_streams_after_answer = False
    control.ctl("say", "two")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="second answer plays")
    assert relay.paths().count("/api/rt/start") == 1  # the session survived its streams
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_relay_down_is_a_connection_error_and_it_connects_when_up(daemon, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    class Down:
        url = f"http://127.0.0.1:{port}"
    d, control = start(daemon, tmp_path, Down)
    d.wait_log("rt_relay: ")
    assert "Couldn't connect" in d.log or "connect" in d.log.lower()
    wait_for(lambda: control.status()["state"]["link"] == "error", what="link error")
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="connection"}'] >= 1
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
