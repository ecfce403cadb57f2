"""Transcripts store-and-forward (seed 003) with the real daemon on the echo backend (typed
turns give a user and an assistant transcript each) and an aiohttp fake of the training
backend's transcript route: order and body, outages, restarts (SIGKILL included), refused
bodies set aside, a refused token retried, a full queue, config errors."""
import signal
import sqlite3

from conftest import BASE_CONFIG, run_parleyd
from fake_transcripts import FakeTranscripts, make_jwt
from test_control_socket import Control
from test_openai_backend import ready, wait_for


def start(daemon, tmp_path, url, user="T-1184", token_user=None, extra=""):
    token = tmp_path / "transcripts.jwt"
    token.write_text(make_jwt(token_user or user) + "\n")
    token.chmod(0o600)
    config = BASE_CONFIG + f"""
[backend.echo]
delay_ms = 0

[device]
technician_id = "{user}"

[transcripts]
enabled = true
url = "{url}"
token_file = "{token}"
queue_path = "{tmp_path / 'state' / 'transcripts.db'}"
retry_max_ms = 1000
{extra}
"""
    d = daemon(config=config, env={"PARLEY_CONTROL__SOCKET": str(tmp_path / "control.sock")}).start()
    d.notify.wait_for("READY=1")
    control = Control(tmp_path / "control.sock")
    ready(control)
    return d, control


def say(control, text):
    assert control.request({"command": "say", "text": text})["ok"]
    wait_for(lambda: control.status().get("lastAssistantTranscript") == text, what=f"echo of {text!r}")
    ready(control)


def queue_rows(tmp_path, table="outbox"):
    with sqlite3.connect(tmp_path / "state" / "transcripts.db") as db:
        return [r[0] for r in db.execute(f"SELECT content FROM {table} ORDER BY id")]


def transcripts(control):
    return control.status()["transcripts"]


def test_each_turns_transcripts_arrive_in_order_as_transcript_create(daemon, tmp_path):
    fake = FakeTranscripts().start()
    d, control = start(daemon, tmp_path, fake.url)
    say(control, "is the pump on")
    say(control, "check valve three")
    wait_for(lambda: len(fake.saved) == 4, what="four transcripts saved")
    assert [(t["role"], t["content"]) for t in fake.saved] == [
        ("user", "is the pump on"), ("assistant", "is the pump on"),
        ("user", "check valve three"), ("assistant", "check valve three")]
    assert {t["user_id"] for t in fake.saved} == {"T-1184"}
    assert all(t["device_id"] and t["created_at"] for t in fake.saved)
    wait_for(lambda: transcripts(control)["queued"] == 0, what="the last row deleted")  # saved there before deleted here
    assert transcripts(control) == {"queued": 0, "sent": 4, "rejected": 0, "dropped": 0}
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics["parley_transcripts_sent_total"] == 4 and metrics["parley_transcripts_queued"] == 0
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert queue_rows(tmp_path) == []


def test_an_outage_keeps_every_transcript_and_delivers_them_in_order_when_back(daemon, tmp_path):
    fake = FakeTranscripts()  # not listening yet: connection refused
    d, control = start(daemon, tmp_path, fake.url)
    say(control, "first")
    say(control, "second")
    wait_for(lambda: transcripts(control)["queued"] == 4, what="four queued")
    # Queued can be reached before the first delivery attempt has failed (a busy host).
    wait_for(lambda: "Couldn't connect" in (transcripts(control).get("lastError") or ""), what="the failure shown")
    assert d.log.count("cannot deliver to") == 1  # one line per outage, not per attempt
    assert queue_rows(tmp_path) == ["first", "first", "second", "second"]
    fake.start()
    wait_for(lambda: len(fake.saved) == 4, timeout=10, what="delivery after the outage")
    assert [t["content"] for t in fake.saved] == ["first", "first", "second", "second"]
    assert [t["role"] for t in fake.saved] == ["user", "assistant"] * 2
    d.wait_log("takes transcripts again")
    wait_for(lambda: transcripts(control)["queued"] == 0, what="queue empty")


def test_queued_transcripts_survive_a_killed_daemon_and_are_sent_once_after_restart(daemon, tmp_path):
    fake = FakeTranscripts()
    d, control = start(daemon, tmp_path, fake.url)
    say(control, "before the crash")
    wait_for(lambda: transcripts(control)["queued"] == 2, what="two queued")
    d.signal(signal.SIGKILL)  # no shutdown path at all: only what was synced survives
    d.wait()
    assert queue_rows(tmp_path) == ["before the crash", "before the crash"]

    fake.start()
    d2, control2 = start(daemon, tmp_path, fake.url)
    d2.wait_log("2 waiting from before")
    wait_for(lambda: len(fake.saved) == 2, what="delivery after restart")
    say(control2, "after")
    wait_for(lambda: len(fake.saved) == 4, what="new transcripts too")
    assert [t["content"] for t in fake.saved] == ["before the crash"] * 2 + ["after"] * 2
    # The server saves before the device deletes its row: wait for the delete (a stop in
    # between would send that one again — delivery is at least once).
    wait_for(lambda: transcripts(control2)["queued"] == 0, what="queue empty")
    d2.signal(signal.SIGTERM)
    assert d2.wait() == 0
    assert queue_rows(tmp_path) == []


def test_a_refused_body_is_set_aside_and_the_rest_still_delivered(daemon, tmp_path):
    fake = FakeTranscripts().start()
    fake.reject_containing = "forbidden"
    d, control = start(daemon, tmp_path, fake.url)
    say(control, "a forbidden word")
    say(control, "fine words")
    wait_for(lambda: len(fake.saved) == 2, what="the acceptable ones")
    assert [t["content"] for t in fake.saved] == ["fine words", "fine words"]
    assert transcripts(control)["rejected"] == 2
    assert "refused a user transcript" in d.log and "HTTP 422" in d.log
    assert queue_rows(tmp_path, "rejected") == ["a forbidden word", "a forbidden word"]  # kept, not lost


def test_a_refused_token_and_server_errors_are_retried_and_the_token_never_logged(daemon, tmp_path):
    fake = FakeTranscripts().start()
    fake.fail_next = [(503, {"detail": "maintenance"}), (500, {"detail": "db down"})]
    d, control = start(daemon, tmp_path, fake.url)
    say(control, "after errors")
    wait_for(lambda: len(fake.saved) == 2, what="delivery after 503 and 500")
    assert fake.attempts == 4
    wait_for(lambda: transcripts(control)["queued"] == 0, what="the last row deleted")

    # A token for another user: the seed's 403, kept and retried (the fix is the config).
    d.signal(signal.SIGTERM)
    d.wait()
    d2, control2 = start(daemon, tmp_path, fake.url, token_user="someone-else")
    say(control2, "wrong user")
    wait_for(lambda: "HTTP 403" in transcripts(control2).get("lastError", ""), what="403 reported")
    assert "Cannot save transcript for another user" in transcripts(control2)["lastError"]
    assert transcripts(control2)["queued"] == 2 and transcripts(control2)["rejected"] == 0
    token = (tmp_path / "transcripts.jwt").read_text().strip()
    assert token not in d.log and token not in d2.log


def test_a_full_queue_refuses_new_transcripts_with_one_clear_line(daemon, tmp_path):
    fake = FakeTranscripts()
    d, control = start(daemon, tmp_path, fake.url, extra="max_queued = 10")
    for n in range(6):
        say(control, f"turn {n}")
    wait_for(lambda: transcripts(control)["dropped"] == 2, what="two refused")
    assert transcripts(control)["queued"] == 10
    assert d.log.count("transcript queue full (10 waiting, transcripts.max_queued)") == 1
    assert queue_rows(tmp_path)[0] == "turn 0" and queue_rows(tmp_path)[-1] == "turn 4"


def test_enabled_transcripts_need_a_url_and_a_token(tmp_path):
    config = tmp_path / "parley.toml"
    config.write_text(BASE_CONFIG + "\n[transcripts]\nenabled = true\n")
    result = run_parleyd("check-config", "--config", str(config))
    assert result.returncode == 78
    assert "transcripts.enabled = true needs transcripts.url" in result.stderr
    assert "transcripts.token_file or transcripts.token_credential" in result.stderr
