"""The OpenAI Realtime (GA) WebSocket backend against a fake server that validates every
event with the official `openai` package's models: what crossed the wire, and what reached
the speaker, for a push-to-talk turn, a too-short press, barge-in, a server error
mid-response, a dropped socket, session expiry and a wrong key."""
import signal
import time

import pytest

from conftest import start_on_backend
from audio import best_correlation, envelope, samples_of_wav, spoken_fixture
from fake_openai import FakeRealtime
from test_control_socket import Control
from tls_certs import make_ca_and_server

KEY = "sk-test-fake-key-1234567890"


@pytest.fixture
def fake():
    server = FakeRealtime(api_key=KEY).start()
    yield server
    assert server.violations == [], server.violations


def start(daemon, tmp_path, fake, mic="/dev/zero", key=KEY, extra="", dropins_extra=""):
    """parleyd on the fake; `extra` goes under [backend.openai], `dropins_extra` into a conf.d file."""
    d = start_on_backend(daemon, tmp_path, "openai", f'url = "{fake.url}"\n{extra}', key, mic, dropins_extra)
    return d, Control(tmp_path / "control.sock")


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def ready(control):
    wait_for(lambda: control.status()["state"]["indicator"] == "ready", what="ready")


def test_push_to_talk_turn_over_the_wire(daemon, tmp_path, fake):
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "Check the condenser fan on unit seven.", lead=1.0, tail=2.0)
    d, control = start(daemon, tmp_path, fake, mic)
    ready(control)
    headers = fake.headers[0]
    assert headers["Authorization"] == f"Bearer {KEY}" and "OpenAI-Beta" not in headers
    update = next(e for e in fake.events if e["type"] == "session.update")["session"]
    assert update["type"] == "realtime" and update["audio"]["input"]["turn_detection"] is None
    assert update["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    control.ctl("ptt", "press")
    time.sleep(len(said) / 48000 - 1.8)
    control.ctl("ptt", "release")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=20, what="idle again")
    types = fake.types()
    first = types.index("input_audio_buffer.clear")
    commit = types.index("input_audio_buffer.commit")
    assert types[commit + 1] == "response.create"
    appends = [e for e in fake.events[first:commit] if e["type"] == "input_audio_buffer.append"]
    # Each 10 ms frame leaves as it is produced (no re-chunking wait): 480 bytes, 640 in base64.
    assert len(appends) > 100 and all(len(e["audio"]) == 640 for e in appends[:-1])
    status = control.status()
    assert status["lastUserTranscript"].startswith("heard ")
    assert status["lastAssistantTranscript"].startswith("echo of ")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    out, _ = samples_of_wav(tmp_path / "speaker.wav")
    words = said[48000:len(said) - 2 * 48000]
    score, _ = best_correlation(envelope(words, 48000), envelope(out, 48000))
    assert score > 0.8, score
    assert "sk-test-fake" not in d.log


def test_too_short_press_clears_and_never_commits(daemon, tmp_path, fake):
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    control.ctl("ptt", "tap")
    wait_for(lambda: "input_audio_buffer.clear" in fake.types()[-1:], what="clear")
    assert "input_audio_buffer.commit" not in fake.types()
    assert "response.create" not in fake.types()
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_barge_in_cancels_and_truncates_to_what_was_played(daemon, tmp_path, fake):
    fake.response_audio_seconds = 6.0
    fake.speak_pace = 1.0  # real time: the answer is still playing when the button goes down
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    control.ctl("say", "tell", "me", "a", "long", "story")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    time.sleep(1.5)
    control.ctl("ptt", "press")
    wait_for(lambda: "conversation.item.truncate" in fake.types(), what="truncate")
    types = fake.types()
    assert types.index("response.cancel") < types.index("conversation.item.truncate")
    truncate = next(e for e in fake.events if e["type"] == "conversation.item.truncate")
    assert truncate["content_index"] == 0
    assert 900 <= truncate["audio_end_ms"] <= 1900, truncate  # about what the speaker played
    assert control.status()["state"]["turn"] == "listening"
    time.sleep(0.3)
    control.ctl("ptt", "release")
    wait_for(lambda: fake.types().count("response.create") == 2, what="the new turn's response")
    assert control.request({"command": "metrics"})["metrics"]["parley_barge_ins_total"] == 1
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert "truncate" not in " ".join(line for line in d.lines if "server error" in line)


def test_server_error_mid_response_is_logged_and_survived(daemon, tmp_path, fake):
    fake.error_after_deltas = 2
    fake.response_audio_seconds = 1.0
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    control.ctl("say", "hello")
    d.wait_log("openai: server error server_error: The server had an error")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", what="idle")
    control.ctl("say", "again")
    wait_for(lambda: fake.types().count("response.create") == 2, what="second response")
    assert fake.connections == 1
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="server"}'] == 1
    assert metrics['parley_backend_errors_total{kind="connection"}'] == 0
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_a_refused_response_ends_the_turn_at_once_and_the_link_stays(daemon, tmp_path, fake):
    """Regression: an error in reply to response.create (rate_limit_exceeded) left the turn
    thinking for the whole stall timeout, then tore the link down."""
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    fake.refuse_responses = 1
    control.ctl("ptt", "press")
    time.sleep(0.5)
    released = time.monotonic()
    control.ctl("ptt", "release")
    wait_for(lambda: control.status()["state"]["turn"] == "failed", timeout=2, what="the turn failed")
    assert time.monotonic() - released < 2
    status = control.status()
    assert status["state"]["indicator"] == "error" and status["state"]["link"] == "connected"
    assert "rate_limit_exceeded" in status["lastError"]
    assert status["leds"][0]["pattern"] == "blink_fast", status["leds"]  # the error pattern
    ready(control)  # the error shows a moment, then ready again on the same connection
    assert fake.connections == 1
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="rate_limit"}'] == 1
    control.ctl("ptt", "press")  # and the next turn is answered
    time.sleep(0.5)
    control.ctl("ptt", "release")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    assert fake.connections == 1 and "stalled" not in d.log
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_socket_dropped_mid_response_reconnects_and_works_again(daemon, tmp_path, fake):
    fake.drop_after_deltas = 3
    fake.response_audio_seconds = 2.0
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    control.ctl("say", "status report")
    wait_for(lambda: fake.connections == 2, what="a second connection")
    ready(control)
    assert fake.types().count("session.update") == 2  # the session is set up again
    control.ctl("say", "status report again")
    wait_for(lambda: control.status().get("lastAssistantTranscript") == "echo of 2000 ms", what="answer")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_session_expired_reconnects_at_once(daemon, tmp_path, fake):
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    fake.call(fake._send(fake._ws, {"type": "error", "error": {
        "type": "invalid_request_error", "code": "session_expired",
        "message": "Your session hit the maximum duration of 60 minutes."}}))
    wait_for(lambda: fake.connections == 2, timeout=3, what="a new session")
    ready(control)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_an_old_session_is_renewed_between_turns_without_the_technician_noticing(daemon, tmp_path, fake):
    fake.response_audio_seconds = 1.0
    d, control = start(daemon, tmp_path, fake, extra="session_refresh_s = 5")
    ready(control)
    seen = []

    def watch():
        indicator = control.status()["state"]["indicator"]
        if not seen or seen[-1] != indicator:
            seen.append(indicator)

    # A turn held across the renewal time: the session is not renewed under it.
    control.ctl("ptt", "press")
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        watch()
        time.sleep(0.1)
    assert fake.connections == 1
    control.ctl("ptt", "release")
    # After the answer has played: renewed, session.update sent again, nothing shown or heard.
    while fake.connections < 2 and time.monotonic() < deadline + 10:
        watch()
        time.sleep(0.1)
    assert fake.connections == 2
    wait_for(lambda: fake.types().count("session.update") == 2, what="session.update on the new session")
    for _ in range(10):
        watch()
        time.sleep(0.1)
    assert "offline" not in seen and "connecting" not in seen and "error" not in seen, seen
    assert seen[-1] == "ready", seen
    # The renewed session works.
    control.ctl("say", "still", "there")
    wait_for(lambda: fake.types().count("response.create") == 2, what="a turn on the new session")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert "renewing the session after 5 s, between turns" in d.log
    assert not any("cue: offline" in line for line in d.lines)


def test_wrong_key_shows_an_error_and_keeps_retrying_slowly(daemon, tmp_path, fake):
    d, control = start(daemon, tmp_path, fake, key="sk-wrong-key-00000000000")
    d.wait_log("openai: the server refused the WebSocket upgrade: HTTP 401 invalid_api_key")
    wait_for(lambda: control.status()["state"]["link"] == "error", what="error state")
    assert control.status()["state"]["indicator"] == "error"
    # Slowly: at reconnect_max_ms (2 s ± 20 %), not the 200 ms first backoff. Each attempt is an
    # upgrade and a probe that asks why: two requests per attempt.
    wait_for(lambda: len(fake.headers) >= 6, timeout=10, what="three attempts")
    upgrades = [h for h in fake.headers if h.get("Upgrade")]
    assert len(upgrades) >= 3
    times = fake.request_times
    attempts = [t for t, h in zip(times, fake.headers) if h.get("Upgrade")]
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert all(g > 1.5 for g in gaps), gaps
    assert d.proc.poll() is None
    assert "sk-wrong-key" not in d.log
    # One line for the outage, not one per retry; every attempt counted, as auth.
    assert sum("refused the WebSocket upgrade" in line for line in d.lines) == 1
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="auth"}'] >= 3
    assert "HTTP 401" in control.status()["lastError"]
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


@pytest.fixture
def tls_fake(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, context = make_ca_and_server(certs)
    server = FakeRealtime(api_key=KEY, ssl=context).start()
    server.ca = ca
    yield server
    assert server.violations == [], server.violations


def test_wss_through_a_proxy_with_a_private_ca(daemon, tmp_path, tls_fake):
    # Trusting the proxy's CA (backend.openai.ca_file): TLS verified, a normal session.
    d, control = start(daemon, tmp_path, tls_fake, extra=f'ca_file = "{tls_fake.ca}"')
    ready(control)
    control.ctl("say", "over", "tls")
    wait_for(lambda: "response.create" in tls_fake.types(), what="a turn over wss")
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=2.5) == 0  # a TLS peer slow to answer close_notify does not hold up the stop


def test_wss_with_an_unknown_ca_is_refused_clearly_and_retried(daemon, tmp_path, tls_fake):
    # The system store alone does not know that CA.
    d, control = start(daemon, tmp_path, tls_fake)
    d.wait_log("openai: TLS")
    wait_for(lambda: control.status()["state"]["link"] == "error", what="error state")
    assert tls_fake.connections == 0  # nothing got past the handshake
    assert d.proc.poll() is None
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
