"""A fake WebRTC Realtime peer on 127.0.0.1 built on aiortc + aiohttp: it answers Parley's SDP
offer on each signaling route (OpenAI GA /v1/realtime/calls, seed 002's office server, seed 003's
training backend) and plays OpenAI on the call: GA events on the `oai-events` data channel, every
client event validated with the official `openai` package's models; what Parley's microphone
track carries is recorded (and its tone measured); a response is a tone on our audio track,
framed by output_audio_buffer.started/stopped as OpenAI does over WebRTC."""
import asyncio
import fractions
import json
import math
import time

import aioice.ice
import av
import numpy as np
from aiohttp import web
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from openai.types.realtime.client_secret_create_params import ClientSecretCreateParams
from pydantic import TypeAdapter, ValidationError

from fake_openai import CLIENT, SERVER, validate
from server_thread import ServerThread

CLIENT_SECRET = TypeAdapter(ClientSecretCreateParams)

# aioice leaves loopback out of its host candidates; the tests' calls stay on 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]

RATE = 48000
FRAME = 960  # 20 ms


class AnswerTrack(MediaStreamTrack):
    """The assistant's voice: silence, or a tone while a response plays; paced in real time."""
    kind = "audio"

    def __init__(self):
        super().__init__()
        self.samples_left = 0
        self.hz = 880
        self.phase = 0
        self.pts = 0
        self.start = None
        self.on_finished = None  # called once when a tone has been sent to the end

    def play(self, seconds, hz, on_finished):
        self.hz = hz
        self.samples_left = int(seconds * RATE)
        self.on_finished = on_finished

    def stop(self):
        self.samples_left = 0
        self.on_finished = None

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.pts / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        pcm = np.zeros(FRAME, dtype=np.int16)
        if self.samples_left > 0:
            n = min(FRAME, self.samples_left)
            t = (np.arange(n) + self.phase) / RATE
            pcm[:n] = (9000 * np.sin(2 * math.pi * self.hz * t)).astype(np.int16)
            self.phase += n
            self.samples_left -= n
            if self.samples_left == 0 and self.on_finished:
                done, self.on_finished = self.on_finished, None
                asyncio.get_event_loop().call_soon(done)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, RATE)
        self.pts += FRAME
        return frame


class Call:
    """One peer connection and its conversation state."""

    def __init__(self, server, pc):
        self.server = server
        self.id = None
        self.pc = pc
        self.channel = None
        self.track = AnswerTrack()
        self.buffer = []          # mono 48 kHz int16 chunks since the last input_audio_buffer.clear
        self.response = None      # the id of the response being played
        self.response_task = None


class FakeWebRTC(ServerThread):
    def __init__(self, api_key="sk-test-fake-key-1234567890", token="jwt-test-token-abcdef"):
        super().__init__()
        self.api_key = api_key
        self.token = token
        self.events: list[dict] = []       # every client event on the data channel, in order
        self.sent: list[str] = []          # the type of every server event sent
        self.violations: list[str] = []
        self.requests: list[dict] = []     # each signaling request: path, headers, body
        self.committed: list[np.ndarray] = []  # the microphone audio of each committed turn (48 kHz)
        self.received_samples = 0          # microphone samples received in all (48 kHz)
        self.offers: list[str] = []
        self.calls: list[Call] = []
        self.hung_up: list[str] = []       # call ids the device hung up (OpenAI's hangup route)
        self.answer_seconds = 1.5          # each response: an 880 Hz tone this long
        self.answer_hz = 880
        self.refuse: list[tuple[int, str]] = []  # (status, body) for the next offers
        self.answer_status = None          # training: answer with this status (the seed's quirk)
        self.corrupt_fingerprint = False   # announce a certificate we do not present
        self.ignore_offers = False         # answer, then never connect (ICE to nowhere)
        self.ephemeral_keys: list[str] = []  # keys minted by /v1/realtime/client_secrets
        self.client_secret_bodies: list[dict] = []
        self.port = None
        self._ids = 0

    async def _serve(self):
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/v1/realtime/calls", self._openai)
        app.router.add_post("/v1/realtime/calls/{call_id}/hangup", self._hangup)
        app.router.add_post("/v1/realtime/client_secrets", self._client_secret)
        app.router.add_post("/api/voice/realtime/connect", self._office)
        app.router.add_post("/realtime/webrtc-offer", self._training)
        await self._serve_app(app)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def _id(self, prefix):
        self._ids += 1
        return f"{prefix}_{self._ids}"

    # -- signaling routes
    async def _record(self, request) -> str:
        body = await request.text()
        self.requests.append({"path": request.path_qs, "headers": dict(request.headers), "body": body})
        return body

    async def _openai(self, request):
        offer = await self._record(request)
        keys = [f"Bearer {k}" for k in [self.api_key, *self.ephemeral_keys]]
        if request.headers.get("Authorization") not in keys:
            return web.json_response({"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key",
                                                "type": "invalid_request_error", "param": None}}, status=401)
        if request.headers.get("Content-Type", "").split(";")[0] != "application/sdp":
            return web.json_response({"error": {"message": "expected application/sdp"}}, status=400)
        if self.refuse:
            status, body = self.refuse.pop(0)
            return web.Response(status=status, text=body)
        answer, call_id = await self._answer(offer)
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": f"/v1/realtime/calls/{call_id}"})

    async def _hangup(self, request):
        """OpenAI's hang-up: ends the call on the server's side (not an offer: not in `requests`)."""
        keys = [f"Bearer {k}" for k in [self.api_key, *self.ephemeral_keys]]
        if request.headers.get("Authorization") not in keys:
            return web.json_response({"error": {"message": "Incorrect API key provided."}}, status=401)
        call_id = request.match_info["call_id"]
        call = next((c for c in self.calls if getattr(c, "id", None) == call_id), None)
        if call is None:
            return web.json_response({"error": {"message": f"no call {call_id}"}}, status=404)
        self.hung_up.append(call_id)
        await call.pc.close()
        return web.Response(status=200)

    async def _client_secret(self, request):
        """OpenAI's GA client_secrets (a relay endpoint mints them the same way): the body is
        validated by the `openai` package's ClientSecretCreateParams."""
        body = json.loads(await self._record(request))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key",
                                                "type": "invalid_request_error", "param": None}}, status=401)
        try:
            CLIENT_SECRET.validate_python(body)
        except ValidationError as e:
            self.violations.append(f"client_secrets: {e.errors()[0]['loc']} {e.errors()[0]['msg']}")
            return web.json_response({"error": {"message": "invalid body"}}, status=400)
        self.client_secret_bodies.append(body)
        key = self._id("ek_test")
        self.ephemeral_keys.append(key)
        return web.json_response({"value": key, "expires_at": int(time.time()) + 600, "session": body.get("session")})

    async def _office(self, request):
        body = json.loads(await self._record(request))
        if not body.get("sdp") or not body.get("model"):
            return web.json_response({"detail": "Missing sdp or model in request"}, status=400)
        answer, _ = await self._answer(body["sdp"])
        return web.json_response({"sdp": answer})

    async def _training(self, request):
        offer = await self._record(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"detail": "Could not validate credentials"}, status=401)
        answer, _ = await self._answer(offer)
        return web.Response(status=self.answer_status or 200, text=answer)

    async def _answer(self, offer: str) -> tuple[str, str]:
        self.offers.append(offer)
        # No ICE servers: aiortc's default asks stun.l.google.com, and the tests stay on loopback.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call = Call(self, pc)
        self.calls.append(call)
        pc.addTrack(call.track)

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed"):
                call.track.stop()
                await pc.close()

        @pc.on("track")
        def on_track(track):
            asyncio.ensure_future(self._listen(call, track))

        @pc.on("datachannel")
        def on_datachannel(channel):
            call.channel = channel
            channel.on("message", lambda text: asyncio.ensure_future(self._handle(call, json.loads(text))))
            asyncio.ensure_future(self._send(call, {"type": "session.created", "session": {
                "type": "realtime", "id": self._id("sess"), "object": "realtime.session", "model": "gpt-realtime",
                "expires_at": 3600, "output_modalities": ["audio"], "instructions": ""}}))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = pc.localDescription.sdp
        if self.corrupt_fingerprint:
            answer = "\r\n".join(
                "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) if line.startswith("a=fingerprint:") else line
                for line in answer.split("\r\n"))
        if self.ignore_offers:
            await pc.close()
        call.id = self._id("rtc")
        return answer, call.id

    async def _listen(self, call, track):
        try:
            while True:
                frame = await track.recv()
                pcm = frame.to_ndarray().reshape(-1)
                if frame.layout.name == "stereo":
                    pcm = pcm.reshape(-1, 2).mean(axis=1).astype(np.int16)
                self.received_samples += len(pcm)
                call.buffer.append(pcm)
        except Exception:  # the track ended with the call
            pass

    # -- the data channel
    async def _send(self, call, event: dict):
        event.setdefault("event_id", self._id("event"))
        problem = validate(SERVER, event, strict=False)
        if problem:
            self.violations.append("server " + problem)
        if call.channel and call.channel.readyState == "open":
            call.channel.send(json.dumps(event))
            self.sent.append(event["type"])

    async def _handle(self, call, event):
        self.events.append(event)
        problem = validate(CLIENT, event)
        if problem:
            self.violations.append("client " + problem)
            return
        kind = event["type"]
        if kind == "session.update":
            await self._send(call, {"type": "session.updated", "session": event["session"]})
        elif kind == "input_audio_buffer.clear":
            call.buffer.clear()
            await self._send(call, {"type": "input_audio_buffer.cleared"})
        elif kind == "input_audio_buffer.commit":
            audio = np.concatenate(call.buffer) if call.buffer else np.zeros(0, dtype=np.int16)
            call.buffer.clear()
            self.committed.append(audio)
            item = self._id("item")
            await self._send(call, {"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": None})
            await self._send(call, {"type": "conversation.item.input_audio_transcription.completed", "item_id": item,
                                    "content_index": 0, "transcript": f"heard {len(audio) * 1000 // RATE} ms",
                                    "usage": {"type": "duration", "seconds": len(audio) / RATE}})
        elif kind == "response.create":
            call.response_task = asyncio.ensure_future(self._respond(call))
        elif kind == "response.cancel":
            if call.response_task and not call.response_task.done():
                call.response_task.cancel()
        elif kind == "output_audio_buffer.clear":
            call.track.stop()
            if call.response:
                response, call.response = call.response, None
                await self._send(call, {"type": "output_audio_buffer.cleared", "response_id": response})

    async def _respond(self, call):
        response, item = self._id("resp"), self._id("item")
        await self._send(call, {"type": "response.created", "response": {
            "id": response, "object": "realtime.response", "status": "in_progress", "output": []}})
        call.response = response
        await self._send(call, {"type": "output_audio_buffer.started", "response_id": response})

        def finished():
            if call.response == response:
                call.response = None
                asyncio.ensure_future(self._send(call, {"type": "output_audio_buffer.stopped", "response_id": response}))

        call.track.play(self.answer_seconds, self.answer_hz, finished)
        status = "completed"
        try:
            await asyncio.sleep(0.2)  # the server's answer is generated faster than it plays
            await self._send(call, {"type": "response.output_audio_transcript.done", "response_id": response,
                                    "item_id": item, "output_index": 0, "content_index": 0,
                                    "transcript": f"a {self.answer_hz} Hz tone"})
        except asyncio.CancelledError:
            status = "cancelled"
        await self._send(call, {"type": "response.done", "response": {
            "id": response, "object": "realtime.response", "status": status, "output": []}})

    # -- measuring
    def tone_fraction(self, audio: np.ndarray, hz: float) -> float:
        """The share of the audio's energy within ±20 Hz of `hz`."""
        if len(audio) < RATE // 10:
            return 0.0
        spectrum = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
        band = spectrum[(freqs > hz - 20) & (freqs < hz + 20)].sum()
        return float(band / max(spectrum.sum(), 1e-9))

    def hang_up(self):
        """Closes every call (the peer goes away)."""
        async def close_all():
            for call in self.calls:
                await call.pc.close()
        self.call(close_all())

    def send_large_event(self, transcript: str):
        """A server event over webrtcbin's 64 KiB receive limit (aiortc would refuse to send it:
        the offer announces no max-message-size); webrtcbin hands it over in pieces."""
        async def send():
            call = self.calls[-1]
            call.channel.transport._remote_max_message_size = 0
            await self._send(call, {"type": "response.output_audio_transcript.done", "response_id": "resp_big",
                                    "item_id": "item_big", "output_index": 0, "content_index": 0,
                                    "transcript": transcript})
        self.call(send())
