"""A fake of seed 000's agent routes relay on 127.0.0.1: a real python-socketio server
(Engine.IO v4, aiohttp mode) beside the REST routes on the same aiohttp app.

Socket.io: the user id comes from the `userId` query (refused without one); each socket
joins its user's room and gets `connection_status`; `join_session`/`leave_session` enter or
leave the session's room and announce `user_joined`/`user_left` there. REST (user from the
`user-id` header or `userId` query, errors as `{error, message, details}`):
`POST /api/agent/v1/realtime/sessions {model}` emits `session_status` creating → created to
the user's room; `GET /api/agent/sessions`, `DELETE /api/agent/sessions/<id>` (emits
terminated), `GET /api/agent/health`, and `POST /api/agent/chat/completions`, its body
validated by the `openai` package's `CompletionCreateParams` and its answer built as the
package's `ChatCompletion` model. Knobs make it fail."""
import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import socketio
from aiohttp import web
from openai.types.chat import ChatCompletion, completion_create_params
from pydantic import TypeAdapter, ValidationError

from fake_transcripts import free_port
from server_thread import ServerThread

CHAT_PARAMS = TypeAdapter(completion_create_params.CompletionCreateParamsNonStreaming)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status, kind, message, details=None):
    return web.json_response({"error": kind, "message": message, "details": details}, status=status)


class FakeAgentRoutes(ServerThread):
    def __init__(self, port=None, ping_interval=25, ping_timeout=20):
        super().__init__()
        self.port = port or free_port()
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.sessions = {}             # id → {id, userId, model, createdAt, lastActive}
        self.requests = []             # (method, path, user id header or None), every REST call
        self.socket_events = []        # (event, data) received from clients, in order
        self.chats = []                # validated chat completion bodies
        self.connects = 0
        self.disconnects = 0
        self.create_failures = []      # [(status, kind, message, details)] answered to the next creates
        self.chat_failures = []        # the same for chat completions
        self.session_lifetime = 3600   # seconds until expires_at
        self.answer = lambda text: f"You said {text}. Anything else?"
        self.emit_created = True       # send session_status created after a create
        self.webrtc = None             # a FakeWebRTC: offers to /api/agent/v1/realtime are forwarded to it
        self.offers = []               # (model query, user-id header) of each forwarded offer
        self._runner = None
        self._counter = 0
        self.sio = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self):
        self.sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=self.ping_interval,
                                        ping_timeout=self.ping_timeout, cors_allowed_origins=[])
        app = web.Application()
        self.sio.attach(app)
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("join_session", self._join)
        self.sio.on("leave_session", self._leave)
        app.router.add_get("/api/agent/health", self._health)
        app.router.add_post("/api/agent/v1/realtime/sessions", self._create)
        app.router.add_get("/api/agent/sessions", self._list)
        app.router.add_delete("/api/agent/sessions/{id}", self._delete)
        app.router.add_post("/api/agent/chat/completions", self._chat)
        app.router.add_post("/api/agent/v1/realtime", self._offer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._started.set()
        await asyncio.Event().wait()

    # ---- driving the fake from a test (any thread)

    def call(self, coroutine, timeout=5):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def emit(self, event, data, user="tech-1"):
        self.call(self.sio.emit(event, data, room=user))

    def terminate(self, session_id):
        """The relay ends a session on its own (expiry, an operator)."""
        session = self.sessions.pop(session_id)
        self.emit("session_status", {"sessionId": session_id, "status": "terminated"}, user=session["userId"])

    def drop_sockets(self):
        async def drop():
            for sid in list(self.sio.manager.get_participants("/", None)):
                await self.sio.disconnect(sid[0] if isinstance(sid, tuple) else sid)
        self.call(drop())

    def send_raw(self, text):
        """An Engine.IO message that is not a Socket.IO packet, to every socket."""
        async def send():
            for eio_sid in list(self.sio.eio.sockets):
                await self.sio.eio.send(eio_sid, text)
        self.call(send())

    def stop(self):
        """Down: the port refuses connections until `restart`."""
        async def down():
            await self.sio.shutdown()
            await self._runner.cleanup()
        self.call(down(), timeout=15)

    def restart(self):
        self._started.clear()
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._serve()))
        assert self._started.wait(5), "the fake relay did not restart"

    def events_named(self, name):
        return [data for event, data in self.socket_events if event == name]

    def paths(self, method=None):
        return [path for m, path, _ in self.requests if method in (None, m)]

    # ---- Socket.io

    async def _connect(self, sid, environ, auth=None):
        user = parse_qs(environ.get("QUERY_STRING", "")).get("userId", [""])[0]
        if not user:
            raise socketio.exceptions.ConnectionRefusedError("userId query parameter required")
        self.connects += 1
        await self.sio.save_session(sid, {"userId": user})
        await self.sio.enter_room(sid, user)
        await self.sio.emit("connection_status", {"status": "connected", "userId": user}, to=sid)
        await self.sio.emit("getOnlineUsers", [user], to=sid)

    async def _disconnect(self, sid, reason=None):
        self.disconnects += 1

    async def _join(self, sid, data):
        user = (await self.sio.get_session(sid))["userId"]
        self.socket_events.append(("join_session", data))
        await self.sio.enter_room(sid, data["sessionId"])
        await self.sio.emit("user_joined", {"userId": user, "sessionId": data["sessionId"]}, room=data["sessionId"])

    async def _leave(self, sid, data):
        user = (await self.sio.get_session(sid))["userId"]
        self.socket_events.append(("leave_session", data))
        await self.sio.leave_room(sid, data["sessionId"])
        await self.sio.emit("user_left", {"userId": user, "sessionId": data["sessionId"]}, room=data["sessionId"])

    # ---- REST

    def _user(self, request):
        user = request.headers.get("user-id")
        self.requests.append((request.method, request.path, user))
        return user or request.query.get("userId")

    async def _health(self, request):
        self._user(request)
        return web.json_response({"status": "ok", "timestamp": iso(datetime.now(timezone.utc)),
                                  "activeSessions": len(self.sessions)})

    async def _create(self, request):
        user = self._user(request)
        if not user:
            return error(401, "Unauthorized", "User ID is required")
        if self.create_failures:
            return error(*self.create_failures.pop(0))
        try:
            body = json.loads(await request.read())
            model = body["model"]
            assert isinstance(model, str) and model
        except (ValueError, KeyError, AssertionError):
            return error(400, "Bad request", "model is required")
        self._counter += 1
        sid = f"sess_{self._counter:06d}"
        await self.sio.emit("session_status", {"sessionId": sid, "status": "creating"}, room=user)
        now = datetime.now(timezone.utc)
        self.sessions[sid] = {"id": sid, "userId": user, "model": model, "createdAt": iso(now), "lastActive": iso(now)}
        if self.emit_created:
            await self.sio.emit("session_status", {"sessionId": sid, "status": "created"}, room=user)
        return web.json_response({"id": sid, "model": model, "created_at": iso(now),
                                  "expires_at": iso(now + timedelta(seconds=self.session_lifetime))})

    async def _list(self, request):
        user = self._user(request)
        if not user:
            return error(401, "Unauthorized", "User ID is required")
        mine = [s for s in self.sessions.values() if s["userId"] == user]
        return web.json_response({"sessions": mine, "count": len(mine)})

    async def _delete(self, request):
        user = self._user(request)
        sid = request.match_info["id"]
        session = self.sessions.get(sid)
        if session is None:
            return error(404, "Not found", f"Session {sid} not found")
        if session["userId"] != user:
            return error(403, "Forbidden", "Session belongs to another user")
        del self.sessions[sid]
        await self.sio.emit("session_status", {"sessionId": sid, "status": "terminated"}, room=user)
        return web.json_response({"success": True, "message": "Session terminated successfully"})

    async def _offer(self, request):
        """The SDP proxy: the offer goes to the Realtime peer (OpenAI's role: FakeWebRTC), its
        answer comes back as application/sdp; webrtc_status tells the user's room."""
        user = self._user(request)
        model = request.query.get("model")
        self.offers.append((model, user))
        if not user:
            return error(401, "Unauthorized", "User ID is required")
        if not model or self.webrtc is None:
            return error(400, "Bad request", "model is required")
        await self.sio.emit("webrtc_status", {"status": "connecting", "model": model}, room=user)
        offer = await request.text()
        future = asyncio.run_coroutine_threadsafe(self.webrtc._answer(offer), self.webrtc._loop)
        answer, _ = await asyncio.wrap_future(future)
        await self.sio.emit("webrtc_status", {"status": "connected", "model": model}, room=user)
        return web.Response(text=answer, content_type="application/sdp")

    async def _chat(self, request):
        self._user(request)
        if self.chat_failures:
            return error(*self.chat_failures.pop(0))
        try:
            body = json.loads(await request.read())
            params = CHAT_PARAMS.validate_python(body)
            messages = list(params["messages"])  # validated as they are read
            unknown = set(body) - set(completion_create_params.CompletionCreateParamsNonStreaming.__annotations__) \
                - set(completion_create_params.CompletionCreateParamsBase.__annotations__)
            assert not unknown, f"unknown fields {unknown}"
        except (ValueError, ValidationError, AssertionError) as e:
            return error(400, "Invalid request", "chat completion body does not validate", str(e)[:500])
        self.chats.append(body)
        question = messages[-1]["content"]
        completion = ChatCompletion(
            id=f"chatcmpl-{len(self.chats)}", object="chat.completion", created=int(time.time()), model=body["model"],
            choices=[{"index": 0, "finish_reason": "stop",
                      "message": {"role": "assistant", "content": self.answer(question)}}])
        return web.json_response(completion.model_dump(mode="json"))
