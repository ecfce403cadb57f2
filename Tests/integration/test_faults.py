"""Faults a field device meets, injected into the real daemon on the OpenAI backend, with
the training backend's transcript route on: the server refused, unresolvable, behind a bad
certificate, stalled, cut mid-frame, talking garbage or too much, refusing the upgrade with
an HTTP status, closing with an error code. For each: the process lives, the fault is one
clear log line, the LEDs say error, it recovers when the fault goes away, and every
transcript of what the technician said reaches the transcript route once, in order.

`make bench` counts these (faults.scenarios, faults.survived). The audio-device and
GPIO-chip faults are in test_audio_device_loss.py and the HIL suite (real kernel devices)."""
import signal
import socket
import threading
import time

import pytest

from conftest import start_on_backend
from fake_openai import FakeRealtime
from fake_transcripts import FakeTranscripts, free_port, transcripts_dropin
from parleyd_process import Control
from test_openai_backend import ready, wait_for
from tls_certs import make_ca_and_server

KEY = "sk-test-faults-key-0123456789abcdef"


class Rig:
    """parleyd on the OpenAI backend at `url`, transcripts to a fake training backend."""

    def __init__(self, daemon, tmp_path, url: str, extra: str = "", backend: str = ""):
        self.transcripts = FakeTranscripts().start()
        dropin, _ = transcripts_dropin(tmp_path, self.transcripts.url, "T-77")
        dropin += (f'[backend]\nstall_timeout_ms = 3000\n{backend}'
                  '[board.leds.ready]\nline = "led_ready"\nready = "on"\n'
                  '[board.leds.error]\nline = "led_error"\nerror = "on"\noffline = "on"\n')
        self.d = start_on_backend(daemon, tmp_path, "openai", f'url = "{url}"\n{extra}', KEY,
                                  dropins_extra=dropin)
        self.control = Control(tmp_path / "control.sock")

    def talk(self, hold: float = 0.5):
        """The PTT button held for `hold` seconds (the mic is silence: the fake hears its length)."""
        self.control.ctl("ptt", "press")
        time.sleep(hold)
        self.control.ctl("ptt", "release")

    def turn(self, fake: FakeRealtime, hold: float = 0.5):
        """A spoken push-to-talk turn, answered and played to the end."""
        committed = len(fake.committed)
        self.talk(hold)
        wait_for(lambda: len(fake.committed) == committed + 1, what="the turn committed")
        wait_for(lambda: self.control.status()["state"]["turn"] == "idle", timeout=15, what="the answer played")

    def fails_with(self, text: str, count: int = 1):
        """The fault shows: the line logged (`count` times, however many retries), the error LED."""
        self.d.wait_log(text)
        # One status read for both: the daemon may be back to ready by the next (it reconnects).
        def error_shown():
            status = self.control.status()
            return status["state"]["indicator"] == "error" and \
                {led["name"]: led["pattern"] for led in status["leds"]} == {"ready": "off", "error": "on"}
        wait_for(error_shown, what="the error indicator on the LEDs")
        assert self.lines(text) == count, self.d.log

    def lines(self, text: str) -> int:
        return sum(text in line for line in self.d.lines)

    def leds(self) -> dict[str, str]:
        return {led["name"]: led["pattern"] for led in self.control.status()["leds"]}

    def transcripts_intact(self, turns: int):
        """Each turn's user and assistant transcript delivered once, in order."""
        wait_for(lambda: len(self.transcripts.saved) >= 2 * turns, what=f"{2 * turns} transcripts")
        time.sleep(0.3)
        roles = [t["role"] for t in self.transcripts.saved]
        assert roles == ["user", "assistant"] * turns, self.transcripts.saved
        assert self.control.status()["transcripts"]["queued"] == 0

    def stop(self):
        assert self.d.proc.poll() is None, "the daemon died"
        assert KEY not in self.d.log and KEY not in str(self.control.status())
        self.d.signal(signal.SIGTERM)
        assert self.d.wait(timeout=5) == 0


@pytest.fixture
def fake():
    server = FakeRealtime(api_key=KEY).start()
    yield server
    assert server.violations == [], server.violations


def test_connection_refused_until_the_server_comes_up(daemon, tmp_path):
    port = free_port()
    rig = Rig(daemon, tmp_path, f"ws://127.0.0.1:{port}/v1/realtime")
    rig.fails_with("Connection refused")
    time.sleep(1.5)  # several retries, still one line
    assert rig.lines("Connection refused") == 1
    fake = FakeRealtime(api_key=KEY, port=port).start()
    ready(rig.control)
    rig.d.wait_log("openai: connected again")
    rig.turn(fake)
    rig.transcripts_intact(1)
    rig.stop()


def test_a_name_that_does_not_resolve(daemon, tmp_path):
    rig = Rig(daemon, tmp_path, "wss://parley-fault.invalid/v1/realtime")
    rig.fails_with("parley-fault.invalid")
    time.sleep(1.5)
    assert rig.lines("parley-fault.invalid") == 1
    rig.stop()


@pytest.mark.parametrize("certificate,why", [("expired", "expired"), ("other_host", "localhost in certificate")])
def test_a_bad_server_certificate_is_refused(daemon, tmp_path, certificate, why):
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, context = make_ca_and_server(certs, **{certificate: True})
    server = FakeRealtime(api_key=KEY, ssl=context).start()
    rig = Rig(daemon, tmp_path, server.url, extra=f'ca_file = "{ca}"')
    rig.fails_with("openai: TLS")
    assert why in rig.d.log.lower(), [line for line in rig.d.lines if "TLS" in line]
    time.sleep(1.5)
    assert rig.lines("openai: TLS") == 1
    assert server.connections == 0
    rig.stop()


class SilentServer:
    """Accepts TCP connections and never says a word: a hung proxy or a black-holed server."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            self.accepted.append(conn)


def test_a_server_that_accepts_and_never_answers_the_upgrade(daemon, tmp_path):
    silent = SilentServer()
    rig = Rig(daemon, tmp_path, f"ws://127.0.0.1:{silent.port}/v1/realtime")
    rig.fails_with("no answer to the WebSocket upgrade")
    wait_for(lambda: len(silent.accepted) >= 2, timeout=10, what="a second attempt")
    # The abandoned attempt's socket is closed, not leaked: the server sees EOF on it.
    first = silent.accepted[0]
    first.settimeout(5)
    assert first.recv(4096).startswith(b"GET /v1/realtime") and first.recv(1) == b""
    rig.stop()


@pytest.mark.parametrize("how,text", [
    ("stall", "nothing from the server for 3000 ms"),
    ("cut_mid_frame", "openai: "),
    ("close:1011", "1011"),
    ("oversized", "openai: "),
])
def test_a_response_broken_off_is_an_error_and_the_next_turn_works(daemon, tmp_path, fake, how, text):
    fake.response_audio_seconds = 2.0
    rig = Rig(daemon, tmp_path, fake.url)
    ready(rig.control)
    rig.turn(fake)
    fake.misbehave_after_deltas = (2, how)
    rig.talk()
    rig.fails_with(text)
    ready(rig.control)  # reconnected
    assert fake.connections == 2
    rig.turn(fake)
    # The broken turn's user transcript came before the break: it is kept too.
    wait_for(lambda: len(rig.transcripts.saved) >= 5, what="five transcripts")
    assert [t["role"] for t in rig.transcripts.saved] == ["user", "assistant", "user", "user", "assistant"]
    rig.stop()


def test_garbage_from_the_server_is_one_line_and_the_answer_goes_on(daemon, tmp_path, fake):
    fake.response_audio_seconds = 1.0
    rig = Rig(daemon, tmp_path, fake.url)
    ready(rig.control)
    fake.misbehave_after_deltas = (2, "garbage")
    rig.turn(fake)
    assert rig.lines("malformed server event") == 1, rig.d.log
    metrics = rig.control.request({"command": "metrics"})["metrics"]
    # Not JSON, cut JSON, no type, a list, bad base64: five. (A binary frame is dropped by the
    # connector; a bare session.created and an error with a string are read leniently.)
    assert metrics['parley_backend_errors_total{kind="protocol"}'] == 5
    assert fake.connections == 1
    rig.turn(fake)
    rig.transcripts_intact(2)
    rig.stop()


@pytest.mark.parametrize("status,code", [
    (401, "invalid_api_key"), (403, "unsupported_country_region_territory"), (429, "rate_limit_exceeded"),
    (500, "server_error"), (503, "overloaded")])
def test_an_upgrade_refused_with_a_status_says_why_and_recovers(daemon, tmp_path, fake, status, code):
    body = {"error": {"message": f"injected {status}", "type": "invalid_request_error", "code": code, "param": None}}
    fake.refuse_upgrades = [(status, body)] * 6  # each attempt asks twice: the upgrade and a probe
    rig = Rig(daemon, tmp_path, fake.url)
    rig.fails_with(f"HTTP {status} {code}: injected {status}")
    ready(rig.control)
    rig.turn(fake)
    rig.transcripts_intact(1)
    assert rig.lines(f"HTTP {status}") == 1
    rig.stop()


def test_close_4000_names_the_retired_beta_shape(daemon, tmp_path, fake):
    rig = Rig(daemon, tmp_path, fake.url)
    ready(rig.control)
    rig.turn(fake)
    fake.misbehave_after_deltas = (1, "close:4000")
    rig.talk()
    rig.fails_with("this build speaks GA only")
    ready(rig.control)
    rig.turn(fake)
    rig.stop()


def test_an_operator_reconnect_cuts_the_wait_before_the_next_try(daemon, tmp_path):
    """Regression: `parleyctl reconnect` during the backoff wait did nothing until the wait was
    over (up to reconnect_max_ms). Now it dials at once and says so."""
    port = free_port()
    rig = Rig(daemon, tmp_path, f"ws://127.0.0.1:{port}/v1/realtime",
              backend="reconnect_initial_ms = 60000\nreconnect_max_ms = 60000\n")
    rig.fails_with("Connection refused")
    time.sleep(1)  # into the 60 s wait
    fake = FakeRealtime(api_key=KEY, port=port).start()
    asked = time.monotonic()
    rig.control.ctl("reconnect")
    rig.d.wait_log("reconnecting now as the operator asked (the wait before the next try cut short)")
    ready(rig.control)
    assert time.monotonic() - asked < 10, "dialled at once, not after the 60 s wait"
    rig.d.wait_log("openai: connected again")
    rig.stop()
    assert fake.violations == []
