"""A fake Agent C realtime server (seed 004) on 127.0.0.1, built on `websockets`: the JWT in
`?token=` (HS256, refused with 401 at the upgrade), `agent_list` and `avatar_list` on
connect, `set_agent` → `agent_configuration_changed` (or `error` for an unknown agent),
`text_input` → `interaction` started, the answer as `text_delta`s (with `thought_delta`,
`completion`, `history_delta`), `interaction` ended. One interaction at a time: a
`text_input` during one is an `error`, as the seed's client expects. Knobs make it misbehave."""
import asyncio
import json
from urllib.parse import parse_qs, urlparse

import websockets
from websockets.datastructures import Headers
from websockets.http11 import Response

from fake_transcripts import jwt_user

from server_thread import ServerThread

AGENTS = [{"key": "helpful_assistant", "name": "Helpful assistant"}, {"key": "field_support", "name": "Field support"}]


class FakeAgentC(ServerThread):
    def __init__(self):
        super().__init__()
        self.received = []             # every client event, in order
        self.violations = []           # what the seed does not allow
        self.connections = 0
        self.rejected_upgrades = 0
        self.answer = lambda text: f"I heard you. {text.capitalize()}. That is all."
        self.delta_pause = 0.02        # seconds between text deltas
        self.error_on_text = None      # answer text_input with this error message instead
        self.malformed_first = False   # one garbage frame before each answer
        self.drop_after_answer = False # cut the connection after the next answer
        self.silent = False            # never send the lists
        self.port = None
        self._ws = None

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    async def _serve(self):
        async with websockets.serve(self._connection, "127.0.0.1", 0, process_request=self._check) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await asyncio.Future()

    def types(self):
        return [e.get("type") for e in self.received]

    def _check(self, connection, request):
        url = urlparse(request.path)
        token = parse_qs(url.query).get("token", [""])[0]
        if url.path != "/api/avatar/ws" or jwt_user(token) is None:
            self.rejected_upgrades += 1
            return Response(401, "Unauthorized", Headers([("Content-Type", "application/json")]),
                            b'{"detail":"Invalid or expired token"}')
        return None

    async def _send(self, ws, event):
        await ws.send(json.dumps(event))

    async def _connection(self, ws):
        self.connections += 1
        state = {"agent": None, "interaction": None}
        if not self.silent:
            await self._send(ws, {"type": "agent_list", "agents": AGENTS})
            await self._send(ws, {"type": "avatar_list", "avatars": [{"avatar_id": "anna_public_3_20240108"}]})
        try:
            async for text in ws:
                event = json.loads(text)
                self.received.append(event)
                await self._handle(ws, event, state)
        except websockets.ConnectionClosed:
            pass

    async def _handle(self, ws, event, state):
        kind = event.get("type")
        if kind == "set_agent":
            key = event.get("agent_key")
            if key not in [a["key"] for a in AGENTS]:
                await self._send(ws, {"type": "error", "message": f"Agent not found: {key}"})
                return
            state["agent"] = key
            await self._send(ws, {"type": "agent_configuration_changed", "agent_config": {"key": key}})
        elif kind == "text_input":
            if set(event) != {"type", "text", "file_ids"}:
                self.violations.append(f"text_input fields {sorted(event)}")
            if state["agent"] is None:
                self.violations.append("text_input before set_agent")
            if state["interaction"] and not state["interaction"].done():
                self.violations.append("text_input during an interaction")
                await self._send(ws, {"type": "error", "message": "Interaction already in progress"})
                return
            state["interaction"] = asyncio.ensure_future(self._interact(ws, event["text"]))
        elif kind in ("set_avatar",):
            self.violations.append("set_avatar from a device without a screen")
        else:
            self.violations.append(f"unknown client event {kind}")

    async def _interact(self, ws, text):
        if self.error_on_text:
            await self._send(ws, {"type": "error", "message": self.error_on_text})
            return
        iid = f"int_{len(self.received)}"
        if self.malformed_first:
            await ws.send("{not json")
        await self._send(ws, {"type": "interaction", "started": True, "id": iid})
        await self._send(ws, {"type": "thought_delta", "content": "The user said something."})
        answer = self.answer(text)
        for i in range(0, len(answer), 7):
            await self._send(ws, {"type": "text_delta", "role": "assistant", "content": answer[i:i + 7]})
            await asyncio.sleep(self.delta_pause)
        await self._send(ws, {"type": "completion", "running": False, "input_tokens": 12, "output_tokens": 9})
        await self._send(ws, {"type": "history_delta", "messages": [
            {"role": "user", "content": text}, {"role": "assistant", "content": answer}]})
        await self._send(ws, {"type": "interaction", "started": False, "id": iid})
        if self.drop_after_answer:
            self.drop_after_answer = False
            await ws.close(1011, "server restarting")
