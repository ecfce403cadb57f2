"""The agent routes relay (seed 000) with the real daemon against a python-socketio + aiohttp
fake: the status plane (Socket.io connection with the user id, the REST session joined as a
room, session_status / webrtc_status driving the states and LEDs), turns through the relay's
chat completions spoken on the device, and the error cases: the relay down, 5xx retried 3
times, 4xx bodies surfaced, a terminated session replaced, a dropped socket rejoined, relay
error events, malformed statuses."""
import signal
import time

from audio import best_correlation, envelope, samples_of_wav
from conftest import start_on_backend
from fake_agent_routes import FakeAgentRoutes
from fake_openai import FakeRealtime
from test_agent_c import espeak_envelope, say_and_wait
from test_control_socket import Control
from test_openai_backend import ready, wait_for


def start(daemon, tmp_path, fake, extra="", wait_ready=True, mic="/dev/zero"):
    d = start_on_backend(daemon, tmp_path, "agent_routes",
                         f'base_url = "{fake.url}"\nuser_id = "tech-1"\nmedia = "chat"\n{extra}', mic=mic)
    control = Control(tmp_path / "control.sock")
    if wait_ready:
        ready(control)
    return d, control


def metric(control, name):
    return control.request({"command": "metrics"})["metrics"].get(name, 0)


def joined(fake):
    return [data["sessionId"] for data in fake.events_named("join_session")]


def wait_joined(fake, sessions):
    """The device is ready once join_session is sent (the seed has no acknowledgement, and a
    relay need not echo user_joined to the joiner): the fake reads it a moment later."""
    try:
        wait_for(lambda: joined(fake) == sessions, timeout=5, what=f"joined {sessions}")
    except AssertionError as e:
        raise AssertionError(f"{e}; the fake saw {joined(fake)}") from None


def test_session_joined_typed_turns_answered_and_spoken_and_ended_on_stop(daemon, tmp_path):
    fake = FakeAgentRoutes().start()
    d, control = start(daemon, tmp_path, fake)
    status = control.status()["state"]
    assert (status["link"], status["session"]) == ("connected", "created")
    assert fake.paths() == ["/api/agent/health", "/api/agent/v1/realtime/sessions"]
    assert all(user == "tech-1" for _, _, user in fake.requests)  # the user-id header on every call
    wait_joined(fake, ["sess_000001"])
    assert fake.connects == 1
    time.sleep(1.0)  # the ready cue is over
    say_and_wait(control, "check the pump", "You said check the pump. Anything else?")
    say_and_wait(control, "and the valve", "You said and the valve. Anything else?")
    first, second = fake.chats
    assert first["model"] == "gpt-4o"
    assert first["messages"][0]["role"] == "system" and "Context: device " in first["messages"][0]["content"]
    assert first["messages"][1:] == [{"role": "user", "content": "check the pump"}]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]  # context kept
    time.sleep(0.5)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert fake.events_named("leave_session") == [{"sessionId": "sess_000001"}]
    assert ("DELETE", "/api/agent/sessions/sess_000001", "tech-1") in fake.requests and fake.sessions == {}
    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    heard = envelope(out, rate)
    for sentence in ["You said check the pump.", "Anything else?"]:
        score, _ = best_correlation(espeak_envelope(tmp_path, sentence), heard)
        assert score > 0.9, f"{sentence!r} not found in the speaker output (correlation {score:.2f})"


def test_a_spoken_turn_is_transcribed_then_answered(daemon, tmp_path):
    openai = FakeRealtime().start()
    key = tmp_path / "openai.key"
    key.write_text(openai.api_key + "\n")
    key.chmod(0o600)
    fake = FakeAgentRoutes().start()
    d, control = start(daemon, tmp_path, fake, extra=f'transcription_url = "{openai.url}"\n'
                                                     f'transcription_key_file = "{key}"\n')
    wait_for(lambda: "session.update" in openai.types(), what="transcription session")
    control.ctl("ptt", "press")
    time.sleep(1.0)
    control.ctl("ptt", "release")
    wait_for(lambda: len(fake.chats) == 1, timeout=10, what="the chat completion")
    question = fake.chats[0]["messages"][-1]["content"]
    assert question.startswith("heard ")  # the fake transcription session's words for the audio
    wait_for(lambda: control.status().get("lastAssistantTranscript") == f"You said {question}. Anything else?",
             timeout=15, what="spoken answer")
    assert openai.violations == []


def test_the_relay_down_at_start_is_an_error_until_it_comes_up(daemon, tmp_path):
    fake = FakeAgentRoutes()  # not started: nothing listens on its port
    d, control = start(daemon, tmp_path, fake, wait_ready=False)
    wait_for(lambda: control.status()["state"]["indicator"] == "error", what="error LEDs")
    time.sleep(2.5)  # several reconnects
    assert d.log.count("agent_routes: socket:") == 1  # one line per outage
    fake.start()
    ready(control)
    wait_joined(fake, ["sess_000001"])
    say_and_wait(control, "hello", "You said hello. Anything else?")


def test_session_create_5xx_is_tried_3_times_and_a_4xx_body_is_surfaced(daemon, tmp_path):
    fake = FakeAgentRoutes().start()
    fake.create_failures = [(503, "Service unavailable", "OpenAI did not answer", None)] * 2
    d, control = start(daemon, tmp_path, fake)  # the third try succeeds
    assert fake.paths("POST") == ["/api/agent/v1/realtime/sessions"] * 3
    assert "HTTP 503" not in d.log
    fake.create_failures = [(400, "Bad request", "model not allowed", "gpt-x is not enabled for this relay")]
    fake.terminate("sess_000001")
    d.wait_log("HTTP 400 Bad request: model not allowed (gpt-x is not enabled for this relay)")
    ready(control)  # tried again after the session backoff
    line = next(line for line in d.log.splitlines() if "HTTP 400" in line)
    assert "tries" not in line  # a 4xx is not one of the 3 tries
    wait_joined(fake, ["sess_000001", "sess_000002"])


def test_chat_failures_are_tried_3_times_then_surfaced_and_the_next_turn_works(daemon, tmp_path):
    fake = FakeAgentRoutes().start()
    d, control = start(daemon, tmp_path, fake)
    fake.chat_failures = [(502, "Bad gateway", "upstream reset", None)] * 3
    control.request({"command": "say", "text": "first"})
    d.wait_log("HTTP 502 Bad gateway: upstream reset (3 tries)")
    ready(control)
    assert fake.paths("POST").count("/api/agent/chat/completions") == 3
    assert "upstream reset" in control.status()["lastError"]
    fake.chat_failures = [(422, "Invalid request", "messages too long", None)]
    control.request({"command": "say", "text": "second"})
    d.wait_log("HTTP 422 Invalid request: messages too long")
    assert fake.paths("POST").count("/api/agent/chat/completions") == 4  # a 4xx once
    say_and_wait(control, "third", "You said third. Anything else?")


def test_a_session_the_relay_terminates_is_replaced(daemon, tmp_path):
    fake = FakeAgentRoutes().start()
    d, control = start(daemon, tmp_path, fake)
    fake.terminate("sess_000001")
    d.wait_log("the relay terminated session sess_000001")
    ready(control)
    wait_joined(fake, ["sess_000001", "sess_000002"])
    say_and_wait(control, "still there", "You said still there. Anything else?")


def test_a_session_about_to_expire_is_renewed_without_leaving_ready(daemon, tmp_path):
    """The renewal is scheduled for 60 s before expires_at (no polling): with sessions of 63 s
    the first is replaced after about 3 s — the new one joined first, then the old one left
    and deleted — and the device stays ready throughout."""
    fake = FakeAgentRoutes().start()
    fake.session_lifetime = 63
    d, control = start(daemon, tmp_path, fake)
    started = time.monotonic()
    seen = set()
    while joined(fake)[-1:] != ["sess_000002"] and time.monotonic() - started < 10:
        seen.add(control.status()["state"]["indicator"])
        time.sleep(0.05)
    assert joined(fake) == ["sess_000001", "sess_000002"], joined(fake)
    assert 2 < time.monotonic() - started < 8
    wait_for(lambda: fake.events_named("leave_session") == [{"sessionId": "sess_000001"}], what="the old one left")
    wait_for(lambda: "sess_000001" not in fake.sessions, what="the old one deleted")
    assert seen == {"ready"}, seen
    fake.session_lifetime = 3600
    d.wait_log("sess_000002 replaces sess_000001 (it expires soon)")


def test_a_dropped_socket_reconnects_and_rejoins_the_same_session(daemon, tmp_path):
    fake = FakeAgentRoutes().start()
    d, control = start(daemon, tmp_path, fake)
    fake.drop_sockets()
    wait_for(lambda: fake.connects == 2, what="reconnect")
    wait_for(lambda: len(joined(fake)) == 2, what="rejoin")
    assert joined(fake) == ["sess_000001", "sess_000001"]
    assert "/api/agent/sessions" in fake.paths("GET")  # checked it is still there
    assert fake.paths("POST").count("/api/agent/v1/realtime/sessions") == 1
    ready(control)
    # A session that vanished while the socket was down is replaced on reconnect.
    fake.sessions.clear()
    fake.drop_sockets()
    d.wait_log("session sess_000001 is gone from the relay")
    wait_for(lambda: joined(fake)[-1:] == ["sess_000002"], what="a new session")
    ready(control)


def test_webrtc_and_relay_errors_drive_the_leds_and_malformed_statuses_are_survived(daemon, tmp_path):
    fake = FakeAgentRoutes().start()
    d, control = start(daemon, tmp_path, fake)
    fake.emit("webrtc_status", {"status": "connecting", "model": "gpt-realtime"})
    wait_for(lambda: control.status()["state"]["link"] == "connecting", what="webrtc connecting")
    fake.emit("webrtc_status", {"status": "connected", "model": "gpt-realtime"})
    ready(control)
    fake.emit("webrtc_status", {"status": "error", "model": "gpt-realtime", "message": "ICE failed"})
    d.wait_log("WebRTC failure (model gpt-realtime): ICE failed")
    wait_for(lambda: joined(fake)[-1:] == ["sess_000002"], what="the session replaced")
    ready(control)
    assert fake.events_named("leave_session") == [{"sessionId": "sess_000001"}]
    assert "sess_000001" not in fake.sessions
    fake.emit("error", {"message": "rate limited by OpenAI"})
    d.wait_log("the relay reports an error: rate limited by OpenAI")
    fake.emit("session_status", {"sessionId": "sess_000002", "status": "exploded"})
    fake.emit("session_status", {"sessionId": "sess_000002"})
    fake.send_raw("garbage")  # the frame "4garbage"
    wait_for(lambda: metric(control, 'parley_backend_errors_total{kind="protocol"}') == 3, what="protocol errors")
    assert d.log.count('session_status "exploded"') == 1  # logged once per connection, counted each time
    assert "garbage" not in d.log
    fake.emit("user_joined", {"userId": "supervisor-7", "sessionId": "sess_000002"})
    d.wait_log("user supervisor-7 joined session sess_000002")
    say_and_wait(control, "ok", "You said ok. Anything else?")


def test_pings_are_answered_and_a_server_that_stops_pinging_is_left(daemon, tmp_path):
    fake = FakeAgentRoutes(ping_interval=1, ping_timeout=1).start()
    d, control = start(daemon, tmp_path, fake)
    time.sleep(4.5)  # four pings; an unanswered one closes the socket after 1 s
    assert (fake.connects, fake.disconnects) == (1, 0)
    ready(control)
    fake.sio.eio.ping_interval = 3600  # python-engineio reads it for each next ping: the pings stop
    d.wait_log("no ping from the server for 2.0 seconds")
    wait_for(lambda: fake.connects == 2 and len(joined(fake)) == 2, what="reconnect and rejoin")
    ready(control)
