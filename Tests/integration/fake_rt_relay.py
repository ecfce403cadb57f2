"""A fake rt session relay (seed 001) on 127.0.0.1, built on aiohttp from the seed's route
list: POST start/stop/audio-append/audio-commit/text, GET status, and three SSE streams
(assistant audio as base64 PCM16, assistant text deltas, user transcripts), each opening
with an initial message as the seed asks. Errors are the seed's `{error, sessionId}` JSON
with its status codes (503 when the session is not active). A committed turn is answered
by speaking the appended audio back (like the echo backend) with text deltas; knobs make
it misbehave."""
import asyncio
import base64
import json
import time

from aiohttp import web

from server_thread import ServerThread


class FakeRTRelay(ServerThread):
    def __init__(self, api_key=None):
        super().__init__()
        self.api_key = api_key            # when set, start must carry it
        self.sessions = {}                # sessionId -> {"active", "appended": bytearray, "queues": [...]}
        self.requests = []                # (method, path, json body or query)
        self.violations = []              # requests the seed does not allow
        self.start_status = None          # e.g. (401, "Authentication failed") to refuse starts
        self.malformed_audio = False      # send one garbage audio event before the answer
        self.drop_streams_after_answer = False
        self.speak_pace = 4.0             # audio sent this many times faster than real time
        self.text_tone = (500, 1.0)       # a typed turn's answer: a square wave (Hz, seconds)
        self.stream_opens = {"audio": 0, "transcripts": 0, "user-transcripts": 0}
        self.port = None

    # -- lifecycle
    async def _serve(self):
        app = web.Application()
        app.router.add_post("/api/rt/start", self._start)
        app.router.add_post("/api/rt/stop", self._stop)
        app.router.add_get("/api/rt/status", self._status)
        app.router.add_post("/api/rt/audio-append", self._append)
        app.router.add_post("/api/rt/audio-commit", self._commit)
        app.router.add_post("/api/rt/text", self._text)
        for stream in ("audio", "transcripts", "user-transcripts"):
            app.router.add_get(f"/api/rt/{stream}", self._sse(stream))
        await self._serve_app(app)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def end_session(self, session_id=None):
        """Forget a session server-side (as the relay's auto-cleanup does): its streams close
        and its requests get 503."""
        async def end():
            for sid in [session_id] if session_id else list(self.sessions):
                session = self.sessions.pop(sid, None)
                if session:
                    for queue in session["queues"]:
                        await queue.put(None)
        asyncio.run_coroutine_threadsafe(end(), self._loop).result(5)

    def paths(self):
        return [path for _, path, _ in self.requests]

    # -- helpers
    def _error(self, status, message, session_id=None):
        return web.json_response({"error": message, "sessionId": session_id}, status=status)

    async def _body(self, request, *required):
        try:
            body = await request.json()
        except json.JSONDecodeError:
            self.violations.append(f"{request.path}: body is not JSON")
            return None
        self.requests.append((request.method, request.path, body))
        for key in required:
            if not isinstance(body.get(key), str) or not body[key]:
                self.violations.append(f"{request.path}: missing {key}")
        return body

    def _active(self, body):
        sid = body.get("sessionId") if body else None
        return sid, self.sessions.get(sid)

    async def _broadcast(self, session, stream, payload):
        for queue in session["queues"]:
            if queue.stream == stream:
                await queue.put(payload)

    # -- routes
    async def _start(self, request):
        body = await self._body(request, "sessionId", "provider", "model")
        if body is None:
            return self._error(400, "Invalid JSON")
        sid = body.get("sessionId", "")
        if not sid.startswith("session_") or not sid[8:].isdigit():
            self.violations.append(f"start: sessionId {sid!r} is not session_<ms>")
        if self.start_status:
            return self._error(self.start_status[0], self.start_status[1], sid)
        if self.api_key and body.get("apiKey") != self.api_key:
            return self._error(401, "Authentication failed: invalid API key", sid)
        self.sessions.setdefault(sid, {"appended": bytearray(), "queues": [], "started": time.time(),
                                       "speaking": asyncio.Lock()})
        return web.json_response({"ok": True, "status": "active", "provider": body.get("provider")})

    async def _stop(self, request):
        body = await self._body(request, "sessionId")
        sid, session = self._active(body)
        if session:
            self.sessions.pop(sid, None)
            for queue in session["queues"]:
                await queue.put(None)
        return web.json_response({"ok": True})

    async def _status(self, request):
        sid = request.query.get("sessionId")
        self.requests.append(("GET", request.path, dict(request.query)))
        session = self.sessions.get(sid)
        return web.json_response({"status": "active" if session else "inactive", "isActive": bool(session),
                                  "isStarting": False, "provider": "openai", "model": "gpt-realtime",
                                  "activeSessionCount": len(self.sessions)})

    async def _append(self, request):
        body = await self._body(request, "sessionId", "audio")
        sid, session = self._active(body)
        if not session:
            return self._error(503, "Session not active", sid)
        try:
            session["appended"] += base64.b64decode(body.get("audio", ""), validate=True)
        except ValueError:
            self.violations.append("audio-append: audio is not base64")
            return self._error(400, "audio must be base64 PCM16", sid)
        return web.json_response({"ok": True})

    async def _commit(self, request):
        body = await self._body(request, "sessionId")
        sid, session = self._active(body)
        if not session:
            return self._error(503, "Session not active", sid)
        audio = bytes(session["appended"])
        session["appended"] = bytearray()
        seconds = len(audio) / 48000
        asyncio.ensure_future(self._answer(session, audio, f"(you said {seconds:.1f} s of audio)"))
        return web.json_response({"ok": True})

    async def _text(self, request):
        body = await self._body(request, "sessionId", "text")
        sid, session = self._active(body)
        if not session:
            return self._error(503, "Session not active", sid)
        hz, seconds = self.text_tone
        half = 12000 // hz
        tone = b"".join(int(6000 if (i // half) % 2 else -6000).to_bytes(2, "little", signed=True)
                        for i in range(int(24000 * seconds)))
        asyncio.ensure_future(self._answer(session, tone, body.get("text", "")))
        return web.json_response({"ok": True})

    async def _answer(self, session, audio, user_text):
        # One answer at a time, as a relay on one Realtime session has it: with no cancel
        # route, an answer the device interrupted streams to its end before the next.
        async with session["speaking"]:
            await self._speak(session, audio, user_text)

    async def _speak(self, session, audio, user_text):
        await self._broadcast(session, "user-transcripts", {"type": "transcript", "text": user_text})
        if self.malformed_audio:
            await self._broadcast(session, "audio", "%%% not base64 %%%")
        chunk = 4800  # 100 ms
        words = ["Echo", " of", " your", " turn."]
        for i in range(0, len(audio), chunk):
            await self._broadcast(session, "audio", {"type": "audio", "audio": base64.b64encode(audio[i:i + chunk]).decode()})
            if words:
                await self._broadcast(session, "transcripts", {"type": "delta", "delta": words.pop(0)})
            await asyncio.sleep(0.1 / self.speak_pace)
        await self._broadcast(session, "audio", {"type": "audio_done", "sessionId": session.get("id", "")})
        for word in words:
            await self._broadcast(session, "transcripts", {"type": "delta", "delta": word})
        await self._broadcast(session, "transcripts", {"type": "done", "text": "Echo of your turn."})
        if self.drop_streams_after_answer:
            for queue in session["queues"]:
                await queue.put(None)

    def _sse(self, stream):
        async def handler(request):
            sid = request.query.get("sessionId")
            self.requests.append(("GET", request.path, dict(request.query)))
            session = self.sessions.get(sid)
            if not session:
                return self._error(503, "Session not active", sid)
            self.stream_opens[stream] += 1
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await response.prepare(request)
            queue = asyncio.Queue()
            queue.stream = stream
            session["queues"].append(queue)
            try:
                await response.write(f'data: {json.dumps({"type": "connected", "sessionId": sid})}\n\n'.encode())
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), 15)
                    except asyncio.TimeoutError:
                        await response.write(b": keep-alive\n\n")
                        continue
                    if item is None:
                        break
                    data = item if isinstance(item, str) else json.dumps(item)
                    await response.write(f"data: {data}\n\n".encode())
            except (ConnectionResetError, asyncio.CancelledError):
                pass
            finally:
                if queue in session["queues"]:
                    session["queues"].remove(queue)
            return response
        return handler
