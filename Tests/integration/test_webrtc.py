"""The WebRTC backends (GStreamer webrtcbin in parleyd) against an aiortc peer on 127.0.0.1 in
OpenAI's role and in the relays' (seeds 002, 003): a tone from the microphone detected at the
peer, the peer's tone detected at our speaker, the GA events on the data channel validated by
the `openai` package, barge-in, and the failures: refused offers, a certificate that is not the
one the answer announced, a peer that never connects, a peer that hangs up."""
import array
import math
import signal
import time

import numpy as np
import pytest

from audio import samples_of_wav
from conftest import start_on_backend
from fake_webrtc import FakeWebRTC
from test_control_socket import Control
from test_openai_backend import ready, wait_for

KEY = "sk-test-fake-key-1234567890"
TOKEN = "jwt-test-token-abcdef"
# Calls stay on loopback; the tone survives the capture chain without noise suppression.
WEBRTC = '\n[backend.webrtc]\nlocal_addresses = ["127.0.0.1"]\n[dsp]\nnoise_suppression = false\n'


@pytest.fixture
def peer():
    server = FakeWebRTC(api_key=KEY, token=TOKEN).start()
    yield server
    server.hang_up()
    assert server.violations == [], server.violations


def tone_fixture(path, hz=440, lead=1.0, seconds=3.0, tail=2.0, rate=48000):
    """Raw S16_LE mono: silence, a tone, silence."""
    n = int(rate * (lead + seconds + tail))
    pcm = array.array("h", [0] * n)
    for i in range(int(rate * lead), int(rate * (lead + seconds))):
        pcm[i] = int(8000 * math.sin(2 * math.pi * hz * i / rate))
    path.write_bytes(pcm.tobytes())
    return pcm


def tone_seconds(wav, hz):
    """How long `hz` dominates the recording (20 ms blocks, loud and mostly that tone)."""
    out, rate = samples_of_wav(wav)
    out = np.array(out, dtype=np.float64)
    block = rate // 50
    blocks = out[:len(out) // block * block].reshape(-1, block)
    spectrum = np.abs(np.fft.rfft(blocks * np.hanning(block), axis=1)) ** 2
    freqs = np.fft.rfftfreq(block, 1 / rate)
    band = spectrum[:, (freqs > hz - 60) & (freqs < hz + 60)].sum(axis=1)
    loud = np.sqrt((blocks ** 2).mean(axis=1)) > 500
    return float(((band / np.maximum(spectrum.sum(axis=1), 1e-9) > 0.6) & loud).sum() / 50)


def start(daemon, tmp_path, peer, kind="openai_webrtc", mic="/dev/zero", extra=""):
    if kind == "openai_webrtc":
        settings, key = f'calls_url = "{peer.base_url}/v1/realtime/calls"', KEY
        section = "openai"
    elif kind == "office":
        settings, key, section = f'base_url = "{peer.base_url}"\nmodel = "gpt-realtime"', None, "office"
    else:
        settings, key, section = f'base_url = "{peer.base_url}"', TOKEN, "training"
    d = start_on_backend(daemon, tmp_path, section if kind != "openai_webrtc" else "openai", settings + extra, key, mic,
                         dropins_extra=WEBRTC + (f'[backend]\nkind = "{kind}"\n' if kind == "openai_webrtc" else ""),
                         key_name="token_file" if kind == "training" else "api_key_file")
    return d, Control(tmp_path / "control.sock")


def test_push_to_talk_over_a_call(daemon, tmp_path, peer):
    mic = tmp_path / "mic.raw"
    tone_fixture(mic)
    d, control = start(daemon, tmp_path, peer, mic=mic)
    ready(control)
    request = peer.requests[0]
    assert request["path"] == "/v1/realtime/calls" and request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert request["headers"]["Content-Type"] == "application/sdp"
    offer = peer.offers[0]
    assert "a=setup:actpass" in offer and "OPUS/48000" in offer.upper() and "webrtc-datachannel" in offer
    assert "a=candidate" in offer and "127.0.0.1" in offer
    update = next(e for e in peer.events if e["type"] == "session.update")["session"]
    assert update["type"] == "realtime" and update["audio"]["input"]["turn_detection"] is None
    assert "connected in" in d.log

    control.ctl("ptt", "press")
    time.sleep(3.5)
    control.ctl("ptt", "release")
    wait_for(lambda: control.status()["state"]["turn"] == "speaking", what="speaking")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="idle again")
    types = peer.types()
    # Push-to-talk over WebRTC: no append events (audio is on the track), a clear, a commit.
    assert "input_audio_buffer.append" not in types
    clear, commit = types.index("input_audio_buffer.clear"), types.index("input_audio_buffer.commit")
    assert clear < commit and types[commit + 1] == "response.create"
    heard = peer.committed[0]
    assert len(heard) / 48000 > 2.5, len(heard) / 48000
    fraction = peer.tone_fraction(heard, 440)
    assert fraction > 0.5, fraction
    status = control.status()
    assert status["lastUserTranscript"].startswith("heard ")
    assert status["lastAssistantTranscript"] == "a 880 Hz tone"
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    seconds = tone_seconds(tmp_path / "speaker.wav", 880)
    assert 1.3 < seconds < 1.7, seconds  # the 1.5 s answer, whole and once
    assert KEY not in d.log
