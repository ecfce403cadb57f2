"""Records the fuzz seed corpora (Fuzz/corpus/<target>) from the fakes the integration tests
use: what the fake Realtime server, the rt session relay's SSE streams, the agent routes
relay's Socket.io endpoint and Agent C actually send, plus the relays' error bodies, the
repository's configuration files and parleyctl's request lines. Run by `make fuzz-seeds`;
the result is committed, so the corpus tests (FuzzCorpusTests) need no servers."""
import base64
import hashlib
import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests/integration"))
from fake_agent_c import FakeAgentC  # noqa: E402
from fake_agent_routes import FakeAgentRoutes  # noqa: E402
from fake_openai import FakeRealtime  # noqa: E402
from fake_rt_relay import FakeRTRelay  # noqa: E402
from fake_transcripts import make_jwt  # noqa: E402
from fake_webrtc import FakeWebRTC  # noqa: E402

CORPUS = ROOT / "Fuzz/corpus"
seeds: dict[str, set[bytes]] = {}


def keep(target: str, data: bytes | str):
    seeds.setdefault(target, set()).add(data.encode() if isinstance(data, str) else data)


def frames(ws, seconds: float) -> list[str]:
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            break
    return got


def realtime():
    fake = FakeRealtime(api_key="sk-seed").start()
    fake.response_audio_seconds = 0.3
    speech = base64.b64encode(b"\x10\x20" * 4800).decode()
    with connect(fake.url, additional_headers={"Authorization": "Bearer sk-seed"}) as ws:
        for event in [{"type": "session.update", "session": {"type": "realtime"}},
                      {"type": "input_audio_buffer.append", "audio": speech},
                      {"type": "input_audio_buffer.commit"},
                      {"type": "response.create"},
                      {"type": "response.cancel"},
                      {"type": "input_audio_buffer.commit"}]:  # too short: an error event
            ws.send(json.dumps(event))
            for frame in frames(ws, 0.4):
                keep("realtime", frame)


def post(url: str, body: dict) -> bytes:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=5).read()
    except urllib.error.HTTPError as e:
        return e.read()


def rt_relay():
    fake = FakeRTRelay().start()
    sid = "session_1700000000000"
    keep("relay_json", post(fake.url + "/api/rt/audio-commit", {"sessionId": sid}))  # 503: not active
    keep("relay_json", post(fake.url + "/api/rt/start", {"sessionId": sid}))         # 400: fields missing
    keep("relay_json", post(fake.url + "/api/rt/start", {"sessionId": sid, "provider": "openai", "model": "gpt-realtime"}))
    streams = {s: urllib.request.urlopen(f"{fake.url}/api/rt/{s}?sessionId={sid}", timeout=3)
               for s in ("audio", "transcripts", "user-transcripts")}
    post(fake.url + "/api/rt/audio-append", {"sessionId": sid, "audio": base64.b64encode(b"\x01\x02" * 2400).decode()})
    post(fake.url + "/api/rt/audio-commit", {"sessionId": sid})
    post(fake.url + "/api/rt/text", {"sessionId": sid, "text": "status of unit nine"})
    for stream in streams.values():
        data = b""
        try:
            while len(data) < 60000:
                chunk = stream.read1(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        # The first byte is the fuzz target's chunk size: a few ways to cut the same stream.
        for cut in (0, 6, 63):
            keep("sse", bytes([cut]) + data[:8000])


def agent_routes():
    fake = FakeAgentRoutes().start()
    url = fake.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket&userId=tech-7"
    with connect(url) as ws:
        for frame in frames(ws, 0.5):
            keep("engineio", frame)
        ws.send("40")
        ws.send('42["join_session",{"sessionId":"sess_1"}]')
        post(fake.url + "/api/agent/v1/realtime/sessions?userId=tech-7", {"model": "gpt-realtime"})
        for frame in frames(ws, 1.0):
            keep("engineio", frame)
    keep("relay_json", post(fake.url + "/api/agent/chat/completions", {"model": 1}))


def agent_c():
    fake = FakeAgentC().start()
    with connect(f"{fake.url}/api/avatar/ws?token={make_jwt('tech-7')}") as ws:
        ws.send(json.dumps({"type": "set_agent", "agent_key": "nobody"}))
        ws.send(json.dumps({"type": "set_agent", "agent_key": "field_support"}))
        ws.send(json.dumps({"type": "text_input", "text": "where is the shutoff valve", "file_ids": []}))
        for frame in frames(ws, 1.5):
            keep("relay_json", frame)


def webrtc():
    """aiortc's offers answered by the fake WebRTC peer over each signaling route, and data channel
    messages cut as webrtcbin cuts a large one (first byte: piece size - 1)."""
    import asyncio
    from aiortc import RTCPeerConnection

    fake = FakeWebRTC(api_key="sk-seed", token="jwt-seed").start()

    async def offer() -> str:
        pc = RTCPeerConnection()
        pc.addTransceiver("audio")
        pc.createDataChannel("oai-events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    for route, body, headers in [
            ("/v1/realtime/calls", None, {"Authorization": "Bearer sk-seed", "Content-Type": "application/sdp"}),
            ("/realtime/webrtc-offer", None, {"Authorization": "Bearer jwt-seed", "Content-Type": "application/sdp"}),
            ("/api/voice/realtime/connect", "json", {"Content-Type": "application/json"})]:
        sdp = asyncio.run(offer())
        keep("sdp", sdp)
        data = json.dumps({"sdp": sdp, "model": "gpt-realtime"}).encode() if body else sdp.encode()
        request = urllib.request.Request(fake.base_url + route, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            keep("sdp", response.read())
    event = json.dumps({"type": "response.output_audio_transcript.done", "transcript": "é€ \\\"}{" * 40}).encode()
    keep("sdp", bytes([30]) + event)
    keep("sdp", bytes([255]) + event)


def files():
    for path in [ROOT / "board/parley.toml.example",
                 *sorted((ROOT / "board").glob("*/50-board.toml"))]:
        keep("config", path.read_bytes())
    keep("config", b'[backend]\nkind = "openai"\n[backend.openai]\napi_key_file = "/etc/parley/openai.key"\n')
    keep("config", b'[tools.http.orders]\ndescription = "x"\nurl = "https://office.local/t"\nparameters = \'{"type":"object"}\'\n')
    for line in ['{"command":"status"}', '{"command":"ptt","action":"press"}', '{"command":"say","text":"hello"}',
                 '{"command":"volume","percent":40}', '{"command":"button","button":"cancel","action":"press"}',
                 '{"command":"mute","on":true}', '{"command":"metrics"}', '{"command":"reconnect"}']:
        keep("control", line + "\n")


def main():
    for record in (realtime, rt_relay, agent_routes, agent_c, webrtc, files):
        record()
    shutil.rmtree(CORPUS, ignore_errors=True)
    for target, items in sorted(seeds.items()):
        folder = CORPUS / target
        folder.mkdir(parents=True)
        for data in items:
            (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
        print(f"fuzz-seeds: {target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
