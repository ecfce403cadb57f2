"""A fake OpenAI Realtime (GA) server on 127.0.0.1 built on `websockets`. Every client event
is validated against the official `openai` package's GA pydantic models (discriminated on
`type`, unknown keys rejected); server events are validated the same way before they go
out. It answers a committed turn by speaking the committed audio back (so what reaches the
speaker can be compared with what was said), calls functions when told to, detects speech
itself when the session asks for server VAD, and can be told to misbehave."""
import array
import asyncio
import base64
import itertools
import json
import math
import time
import typing

import websockets
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from typing_extensions import Annotated
from websockets.datastructures import Headers
from websockets.http11 import Response

from server_thread import ServerThread


def _discriminated(alias):
    union = typing.get_args(alias)[0]  # strip openai's PropertyInfo metadata
    return TypeAdapter(Annotated[union, Field(discriminator="type")])


CLIENT = _discriminated(RealtimeClientEvent)
SERVER = _discriminated(RealtimeServerEvent)


def unknown_keys(model, path="$"):
    """openai's models allow extra keys; a key they do not know is a bug in Parley."""
    found = []
    if isinstance(model, BaseModel):
        for key in (model.model_extra or {}):
            found.append(f"{path}.{key}")
        for name in type(model).model_fields:
            found += unknown_keys(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for i, item in enumerate(model):
            found += unknown_keys(item, f"{path}[{i}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            found += unknown_keys(item, f"{path}.{key}")
    return found


def validate(adapter, event: dict, strict=True) -> str | None:
    """Strict for client events (Parley's); server events carry keys the live server sends
    and the SDK's request-shaped session model lacks (`id`, `object`, `expires_at`)."""
    try:
        model = adapter.validate_python(event)
    except ValidationError as e:
        return f"{event.get('type')}: {e.errors()[0]['loc']} {e.errors()[0]['msg']}"
    extra = unknown_keys(model) if strict else []
    return f"{event.get('type')}: unknown keys {extra}" if extra else None


class FakeRealtime(ServerThread):
    def __init__(self, api_key="sk-test-fake-key-1234567890", ssl=None, port=0):
        super().__init__()
        self.api_key = api_key
        self.listen_port = port             # 0: any free port
        self.ssl = ssl                      # an ssl.SSLContext: serve wss:// (as https://localhost)
        self.events: list[dict] = []        # every client event, in order
        self.event_times: list[float] = []  # time.monotonic() each of them arrived
        self.first_delta_times: list[float] = []  # when each response's first audio delta went out
        self.committed: list[bytes] = []    # the audio of each committed turn (24 kHz PCM16)
        self.sent: list[str] = []           # the type of every server event sent, in order
        self.violations: list[str] = []     # client or server events the SDK models refuse
        self.connections = 0
        self.transcription_sessions = 0
        self.headers: list[Headers] = []
        self.request_times: list[float] = []  # time.monotonic() of each HTTP request (upgrade or not)
        self.speak_pace = 0.5               # seconds of wall time per second of audio (2x real time)
        self.response_audio_seconds = None  # None: speak the committed audio back; else a 440 Hz tone this long
        self.answer_audio = None            # base64 PCM16 24 kHz: every answer speaks it (the HIL echo path)
        self.error_after_deltas = None      # send an `error` event after N deltas of the next response
        self.drop_after_deltas = None       # cut the TCP connection after N deltas of the next response
        self.misbehave_after_deltas = None  # (N, how): see _misbehave
        self.refuse_upgrades: list[tuple[int, dict]] = []  # (status, JSON body) for the next upgrades
        self.function_call = None           # (name, arguments JSON): the next response calls it instead of speaking
        self.refuse_responses = 0           # answer the next N response.create with a rate_limit_exceeded error
        self.function_outputs: list[dict] = []  # function_call_output items received
        self.port = None
        self._ids = itertools.count(1)
        self._ws = None

    # -- lifecycle
    async def _serve(self):
        async with websockets.serve(self._connection, "127.0.0.1", self.listen_port, process_request=self._check_request,
                                    max_size=None, ssl=self.ssl) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await asyncio.Future()

    @property
    def url(self):
        if self.ssl:
            return f"wss://localhost:{self.port}/v1/realtime"  # the certificate names localhost
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    # -- the protocol
    def _check_request(self, connection, request):
        self.headers.append(request.headers)
        self.request_times.append(time.monotonic())
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            body = json.dumps({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                         "code": "invalid_api_key", "param": None}}).encode()
            return Response(401, "Unauthorized", Headers([("Content-Type", "application/json")]), body)
        if self.refuse_upgrades:
            status, body = self.refuse_upgrades.pop(0)
            return Response(status, "Refused", Headers([("Content-Type", "application/json")]), json.dumps(body).encode())
        return None

    def _id(self, prefix):
        return f"{prefix}_{next(self._ids)}"

    async def _send(self, ws, event: dict):
        event.setdefault("event_id", self._id("event"))
        problem = validate(SERVER, event, strict=False)
        if problem:
            self.violations.append("server " + problem)
        await ws.send(json.dumps(event))
        self.sent.append(event["type"])

    async def _connection(self, ws):
        self.connections += 1
        self._ws = ws
        state = {"buffer": bytearray(), "committed": bytearray(), "response": None, "vad": None,
                 "speaking": False, "silence_ms": 0, "heard_ms": 0}
        if ws.request.headers.get("OpenAI-Beta"):
            await self._send(ws, {"type": "error", "error": {
                "type": "invalid_request_error", "code": "beta_api_shape_disabled",
                "message": "The Realtime Beta API is no longer supported.", "param": None}})
            await ws.close(4000, "beta_api_shape_disabled")
            return
        if "intent=transcription" in ws.request.path:  # a transcription session: text out only
            self.transcription_sessions += 1
            await self._send(ws, {"type": "session.created", "session": {
                "type": "transcription", "id": self._id("sess"), "object": "realtime.transcription_session",
                "expires_at": 3600}})
        else:
            await self._send(ws, {"type": "session.created", "session": {
                "type": "realtime", "id": self._id("sess"), "object": "realtime.session", "model": "gpt-realtime",
                "expires_at": 3600, "output_modalities": ["audio"], "instructions": ""}})
        try:
            async for text in ws:
                event = json.loads(text)
                self.event_times.append(time.monotonic())
                self.events.append(event)
                problem = validate(CLIENT, event)
                if problem:
                    self.violations.append("client " + problem)
                    continue
                await self._handle(ws, event, state)
        except websockets.ConnectionClosed:
            pass
        finally:
            if state["response"]:
                state["response"].cancel()

    async def _handle(self, ws, event, state):
        kind = event["type"]
        if kind == "session.update":
            state["vad"] = event["session"].get("audio", {}).get("input", {}).get("turn_detection")
            await self._send(ws, {"type": "session.updated", "session": event["session"]})
        elif kind == "input_audio_buffer.append":
            audio = base64.b64decode(event["audio"])
            state["buffer"] += audio
            if state["vad"]:
                await self._detect_speech(ws, state, audio)
        elif kind == "input_audio_buffer.clear":
            state["buffer"].clear()
            await self._send(ws, {"type": "input_audio_buffer.cleared"})
        elif kind == "input_audio_buffer.commit":
            ms = len(state["buffer"]) / 48
            if ms < 100:
                await self._send(ws, {"type": "error", "error": {
                    "type": "invalid_request_error", "code": "input_audio_buffer_commit_empty",
                    "message": f"buffer too small. Expected at least 100ms of audio, but buffer only has {ms:.2f}ms of audio.",
                    "param": None, "event_id": event.get("event_id")}})
                return
            await self._commit(ws, state)
        elif kind == "conversation.item.create":
            if event["item"]["type"] == "message":
                state["committed"] = b"\x00\x00" * 4800
            elif event["item"]["type"] == "function_call_output":
                self.function_outputs.append(event["item"])
        elif kind == "response.create":
            if self.refuse_responses:
                self.refuse_responses -= 1
                await self._send(ws, {"type": "error", "error": {
                    "type": "tokens", "code": "rate_limit_exceeded", "param": None,
                    "message": "Rate limit reached for gpt-realtime. Please try again in 2s."}})
                return
            if state["response"] and not state["response"].done():
                await self._send(ws, {"type": "error", "error": {
                    "type": "invalid_request_error", "code": "conversation_already_has_active_response",
                    "message": "Conversation already has an active response in progress.", "param": None}})
                return
            state["response"] = asyncio.ensure_future(self._respond(ws, state))
        elif kind == "response.cancel":
            task = state["response"]
            if not task or task.done():
                await self._send(ws, {"type": "error", "error": {
                    "type": "invalid_request_error", "code": "response_cancel_not_active",
                    "message": "Cancellation failed: no active response found", "param": None}})
                return
            task.cancel()
        elif kind == "conversation.item.truncate":
            sent_ms = state.get("sent_ms", {}).get(event["item_id"])
            if sent_ms is None or event["audio_end_ms"] > sent_ms:
                await self._send(ws, {"type": "error", "error": {
                    "type": "invalid_request_error", "code": "invalid_value",
                    "message": f"Audio content of {sent_ms}ms is already shorter than {event['audio_end_ms']}ms",
                    "param": "audio_end_ms"}})
                return
            await self._send(ws, {"type": "conversation.item.truncated", "item_id": event["item_id"],
                                  "content_index": 0, "audio_end_ms": event["audio_end_ms"]})

    async def _commit(self, ws, state):
        ms = len(state["buffer"]) / 48
        item = self._id("item")
        state["committed"] = bytes(state["buffer"])
        self.committed.append(state["committed"])
        state["buffer"].clear()
        await self._send(ws, {"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": None})
        await self._send(ws, {"type": "conversation.item.input_audio_transcription.completed", "item_id": item,
                              "content_index": 0, "transcript": f"heard {int(ms)} ms",
                              "usage": {"type": "duration", "seconds": ms / 1000}})

    async def _detect_speech(self, ws, state, audio: bytes):
        """Server VAD, the way the real one behaves at its defaults: speech after loud audio,
        the turn committed and answered after 500 ms of silence; speech while a response
        plays interrupts it (interrupt_response)."""
        samples = array.array("h", audio)
        rms = math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))
        ms = len(samples) // 24
        state["heard_ms"] += ms
        if rms > 600:
            state["silence_ms"] = 0
            if not state["speaking"]:
                state["speaking"] = True
                state["buffer"][:] = state["buffer"][-len(audio) - 9600:]  # 300 ms of padding before the speech
                task = state["response"]
                if task and not task.done() and state["vad"].get("interrupt_response", True):
                    task.cancel()
                await self._send(ws, {"type": "input_audio_buffer.speech_started",
                                      "audio_start_ms": state["heard_ms"], "item_id": self._id("item")})
        elif state["speaking"]:
            state["silence_ms"] += ms
            if state["silence_ms"] >= 500:
                state["speaking"] = False
                await self._send(ws, {"type": "input_audio_buffer.speech_stopped",
                                      "audio_end_ms": state["heard_ms"], "item_id": self._id("item")})
                await self._commit(ws, state)
                if state["vad"].get("create_response", True):
                    state["response"] = asyncio.ensure_future(self._respond(ws, state))
        else:
            del state["buffer"][:-9600]  # no speech: keep the buffer short

    async def _call_function(self, ws, name: str, arguments: str):
        response, item, call = self._id("resp"), self._id("item"), self._id("call")
        await self._send(ws, {"type": "response.created", "response": {
            "id": response, "object": "realtime.response", "status": "in_progress", "output": []}})
        done = {"id": item, "type": "function_call", "status": "completed", "call_id": call, "name": name,
                "arguments": arguments}
        await self._send(ws, {"type": "response.output_item.added", "response_id": response, "output_index": 0,
                              "item": dict(done, status="in_progress", arguments="")})
        await self._send(ws, {"type": "response.function_call_arguments.delta", "response_id": response,
                              "item_id": item, "output_index": 0, "call_id": call, "delta": arguments})
        await self._send(ws, {"type": "response.function_call_arguments.done", "response_id": response,
                              "item_id": item, "output_index": 0, "call_id": call, "name": name,
                              "arguments": arguments})
        await self._send(ws, {"type": "response.output_item.done", "response_id": response, "output_index": 0,
                              "item": done})
        await self._send(ws, {"type": "response.done", "response": {
            "id": response, "object": "realtime.response", "status": "completed", "output": [done]}})

    def _answer_audio(self, state) -> bytes:
        if self.answer_audio is not None:
            return base64.b64decode(self.answer_audio)
        if self.response_audio_seconds is None:
            return state["committed"]
        import math
        n = int(24000 * self.response_audio_seconds)
        return b"".join(int(8000 * math.sin(2 * math.pi * 440 * i / 24000)).to_bytes(2, "little", signed=True)
                        for i in range(n))

    async def _respond(self, ws, state):
        if self.function_call:
            name, arguments = self.function_call
            self.function_call = None
            await self._call_function(ws, name, arguments)
            return
        response, item = self._id("resp"), self._id("item")
        base = {"response_id": response, "item_id": item, "output_index": 0, "content_index": 0}
        status = "completed"
        await self._send(ws, {"type": "response.created", "response": {
            "id": response, "object": "realtime.response", "status": "in_progress", "output": []}})
        audio = self._answer_audio(state)
        chunk = 4800  # 100 ms
        state.setdefault("sent_ms", {})[item] = 0
        try:
            for n, offset in enumerate(range(0, len(audio), chunk)):
                if self.drop_after_deltas is not None and n == self.drop_after_deltas:
                    self.drop_after_deltas = None
                    ws.transport.abort()  # the uplink dies mid-frame, no close handshake
                    return
                if self.misbehave_after_deltas is not None and n == self.misbehave_after_deltas[0]:
                    how = self.misbehave_after_deltas[1]
                    self.misbehave_after_deltas = None
                    if await self._misbehave(ws, how):
                        return
                if self.error_after_deltas is not None and n == self.error_after_deltas:
                    self.error_after_deltas = None
                    await self._send(ws, {"type": "error", "error": {
                        "type": "server_error", "code": None, "message": "The server had an error while processing your request.",
                        "param": None}})
                part = audio[offset:offset + chunk]
                await self._send(ws, dict(base, type="response.output_audio.delta",
                                          delta=base64.b64encode(part).decode()))
                if n == 0:
                    self.first_delta_times.append(time.monotonic())
                state["sent_ms"][item] += len(part) // 48
                await asyncio.sleep(len(part) / 48000 * self.speak_pace)
            await self._send(ws, dict(base, type="response.output_audio.done"))
            await self._send(ws, dict(base, type="response.output_audio_transcript.done",
                                      transcript=f"echo of {len(audio) // 48} ms"))
        except asyncio.CancelledError:
            status = "cancelled"
        except websockets.ConnectionClosed:
            return
        try:
            await self._send(ws, {"type": "response.done", "response": {
                "id": response, "object": "realtime.response", "status": status, "output": []}})
        except websockets.ConnectionClosed:
            pass

    async def _misbehave(self, ws, how: str) -> bool:
        """Faults a real server or the path to it produces; True when the response ends there.
        cut_mid_frame: half a text frame, then the TCP connection dies; close:<code>: a close
        frame with that code; stall: the connection stays up and nothing more is said;
        garbage: frames no GA server sends (then the answer goes on); oversized: one 17 MB
        text message, past the client's 16 MB limit."""
        if how == "cut_mid_frame":
            payload = json.dumps({"type": "response.output_audio.delta", "delta": "AAAA" * 1000}).encode()
            frame = b"\x81\x7e" + len(payload).to_bytes(2, "big") + payload
            ws.transport.write(frame[:len(frame) // 2])
            await asyncio.sleep(0.05)
            ws.transport.abort()
            return True
        if how.startswith("close:"):
            await ws.close(int(how[6:]), "fault injected")
            return True
        if how == "stall":
            await asyncio.sleep(3600)  # cancelled when the client goes away
            return True
        if how == "garbage":
            for text in ["not json at all", '{"type":', '{"no_type": true}', '["a", "list"]',
                         '{"type": "response.output_audio.delta", "delta": "@@not base64@@"}',
                         '{"type": "session.created"}', '{"type": "error", "error": "a string"}']:
                await ws.send(text)
            await ws.send(b"\x00\x01binary")
            return False
        if how == "oversized":
            await ws.send(json.dumps({"type": "response.output_audio.delta", "delta": "A" * (17 << 20)}))
            return False
        raise ValueError(how)
