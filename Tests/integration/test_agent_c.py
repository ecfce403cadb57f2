"""Agent C (seed 004) with the real daemon: typed and spoken turns against an aiohttp-free
`websockets` fake of the server, the answer spoken on the device by espeak-ng (compared
with espeak-ng's own rendering of the same sentence), speech transcribed through the fake
OpenAI transcription session, barge-in, and the error cases: a refused token, an agent the
server does not offer, an error event, a malformed event, a dropped connection."""
import signal
import subprocess
import time

from audio import best_correlation, envelope, samples_of_wav, spoken_fixture
from conftest import start_on_backend
from fake_agent_c import FakeAgentC
from fake_openai import FakeRealtime
from fake_transcripts import make_jwt
from test_control_socket import Control
from test_openai_backend import ready, wait_for


def start(daemon, tmp_path, fake, token=None, extra="", mic="/dev/zero", wait_ready=True):
    d = start_on_backend(daemon, tmp_path, "agent_c", f'url = "{fake.url}"\n{extra}', token or make_jwt("tech-1"), mic,
                         key_name="token_file")
    control = Control(tmp_path / "control.sock")
    if wait_ready:
        ready(control)
    return d, control


def say_and_wait(control, text, answer):
    assert control.request({"command": "say", "text": text})["ok"]
    wait_for(lambda: control.status().get("lastAssistantTranscript") == answer, timeout=15, what="the answer")
    ready(control)


def espeak_envelope(tmp_path, text):
    wav = tmp_path / "expected.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "175", "-w", str(wav), text], check=True)
    samples, rate = samples_of_wav(wav)
    env = envelope(samples, rate)
    loud = [i for i, v in enumerate(env) if v > 200]
    return env[loud[0]:loud[-1] + 1]  # the voice only: the pause after a sentence differs in a stream


def test_a_typed_turn_is_answered_and_spoken_sentence_by_sentence(daemon, tmp_path):
    fake = FakeAgentC().start()
    d, control = start(daemon, tmp_path, fake)
    assert fake.types() == ["set_agent"] and fake.received[0]["agent_key"] == "helpful_assistant"
    time.sleep(1.0)  # the ready cue is over
    say_and_wait(control, "check the pump", "I heard you. Check the pump. That is all.")
    assert fake.received[1] == {"type": "text_input", "text": "check the pump", "file_ids": []}
    assert control.status()["lastUserTranscript"] == "check the pump"
    assert fake.violations == []
    time.sleep(0.5)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    heard = envelope(out, rate)
    offsets = []
    for sentence in ["I heard you.", "Check the pump.", "That is all."]:
        score, offset = best_correlation(espeak_envelope(tmp_path, sentence), heard)
        offsets.append(offset)
        assert score > 0.9, f"{sentence!r} not found in the speaker output (correlation {score:.2f})"
    assert offsets == sorted(offsets)  # in order


def test_a_spoken_turn_is_transcribed_then_answered(daemon, tmp_path):
    words = tmp_path / "mic.raw"
    spoken_fixture(words, "is the compressor running", lead=0.3, tail=4.0)
    openai = FakeRealtime().start()
    key = tmp_path / "openai.key"
    key.write_text(openai.api_key + "\n")
    key.chmod(0o600)
    fake = FakeAgentC().start()
    d, control = start(daemon, tmp_path, fake, mic=words, extra=f'transcription_url = "{openai.url}"\n'
                                                              f'transcription_key_file = "{key}"\n')
    wait_for(lambda: "session.update" in openai.types(), what="transcription session")
    session = openai.events[0]["session"]
    assert session["type"] == "transcription" and session["audio"]["input"]["turn_detection"] is None
    control.ctl("ptt", "press")
    time.sleep(1.6)
    control.ctl("ptt", "release")
    wait_for(lambda: any(e["type"] == "text_input" for e in fake.received), timeout=10, what="text_input")
    text = next(e["text"] for e in fake.received if e["type"] == "text_input")
    assert text.startswith("heard ") and 1300 <= int(text.split()[1]) <= 2000  # the fake's transcript of ~1.6 s
    wait_for(lambda: (control.status().get("lastAssistantTranscript") or "").startswith("I heard you."), timeout=15,
             what="spoken answer")
    assert openai.violations == []
    assert openai.types().count("input_audio_buffer.commit") == 1


def test_without_a_transcription_key_a_spoken_turn_says_what_is_missing(daemon, tmp_path):
    fake = FakeAgentC().start()
    d, control = start(daemon, tmp_path, fake)
    d.wait_log("typed turns only")
    control.ctl("ptt", "press")
    time.sleep(0.4)
    control.ctl("ptt", "release")
    d.wait_log("a spoken turn needs a transcription key")
    ready(control)
    assert "text_input" not in fake.types()


def test_barge_in_stops_the_voice_and_the_next_turn_waits_for_the_interaction_to_end(daemon, tmp_path):
    fake = FakeAgentC().start()
    fake.answer = lambda text: " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 13))
    fake.delta_pause = 0.05
    d, control = start(daemon, tmp_path, fake)
    control.request({"command": "say", "text": "tell me everything"})
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", timeout=10, what="speaking")
    control.ctl("ptt", "press")
    wait_for(lambda: control.status()["state"]["turn"] == "listening", what="listening after barge-in")
    control.ctl("ptt", "release")
    assert control.request({"command": "metrics"})["metrics"]["parley_barge_ins_total"] == 1
    ready(control)
    fake.answer = lambda text: "Short answer."
    say_and_wait(control, "and now", "Short answer.")
    assert fake.violations == []  # the second text_input did not overlap the first interaction


def test_a_refused_token_is_an_auth_error_that_never_logs_the_token(daemon, tmp_path):
    fake = FakeAgentC().start()
    bad = make_jwt("tech-1", secret=b"wrong-key")
    d, control = start(daemon, tmp_path, fake, token=bad, wait_ready=False)
    d.wait_log("check the JWT in backend.agent_c.token_file")
    wait_for(lambda: control.status()["state"]["indicator"] == "error", what="error LEDs")
    assert control.request({"command": "metrics"})["metrics"]['parley_backend_errors_total{kind="auth"}'] >= 1
    assert bad not in d.log


def test_an_agent_the_server_does_not_offer_is_named_with_the_offered_ones(daemon, tmp_path):
    fake = FakeAgentC().start()
    d, control = start(daemon, tmp_path, fake, extra='agent = "plumber"\n', wait_ready=False)
    d.wait_log('agent "plumber" (backend.agent_c.agent) is not offered; the server has: helpful_assistant, field_support')
    assert control.status()["state"]["indicator"] in ("error", "connecting")


def test_error_and_malformed_events_are_survived_and_a_dropped_connection_comes_back(daemon, tmp_path):
    fake = FakeAgentC().start()
    d, control = start(daemon, tmp_path, fake, extra='agent = "field_support"\n')
    fake.error_on_text = "LLM provider unavailable"
    control.request({"command": "say", "text": "first"})
    d.wait_log("LLM provider unavailable")
    ready(control)
    fake.error_on_text = None
    fake.malformed_first = True
    fake.drop_after_answer = True
    say_and_wait(control, "second", "I heard you. Second. That is all.")
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics['parley_backend_errors_total{kind="server"}'] >= 1
    assert metrics['parley_backend_errors_total{kind="protocol"}'] == 1
    wait_for(lambda: fake.connections == 2, timeout=10, what="reconnect")
    ready(control)
    fake.malformed_first = False
    say_and_wait(control, "third", "I heard you. Third. That is all.")
    assert [e["agent_key"] for e in fake.received if e["type"] == "set_agent"] == ["field_support"] * 2
