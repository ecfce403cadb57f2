"""A fake of seed 003's transcript route on 127.0.0.1, on aiohttp: `POST /realtime/transcripts`
with a Bearer JWT (HS256, the user id in `sub`), the body validated as the seed's
`TranscriptCreate` by a pydantic model (422 with FastAPI's `detail` list when it does not
fit), 403 "Cannot save transcript for another user" when `user_id` is not the token's user,
`{"id": …}` on success. It can start late (the device was offline) and be told to fail."""
import asyncio
import base64
import hashlib
import hmac
import json
import socket
from datetime import datetime
from pathlib import Path
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server_thread import ServerThread

SECRET = b"training-backend-signing-key"


class TranscriptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1)
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)
    device_id: str = Field(min_length=1)
    created_at: datetime


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(user_id: str, secret: bytes = SECRET) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": user_id, "exp": 4102444800}).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def jwt_user(token: str) -> str | None:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(b64url(expected), signature):
            return None
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    except (ValueError, KeyError):
        return None


def transcripts_dropin(tmp_path: Path, url: str, user: str) -> tuple[str, str]:
    """Config lines sending `user`'s transcripts to `url` (a token file, mode 0600, beside
    them; the queue under tmp_path/state), and that token, to search logs for."""
    token = make_jwt(user)
    path = tmp_path / "transcripts.jwt"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return (f'[device]\ntechnician_id = "{user}"\n[transcripts]\nenabled = true\nurl = "{url}"\n'
            f'token_file = "{path}"\nqueue_path = "{tmp_path / "state" / "transcripts.db"}"\nretry_max_ms = 1000\n'), token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeTranscripts(ServerThread):
    def __init__(self, port: int | None = None):
        super().__init__()
        self.port = port or free_port()
        self.saved = []              # validated TranscriptCreate dicts, in arrival order
        self.attempts = 0            # every POST, answered or not
        self.fail_next = []          # [(status, json body)] answered before anything else
        self.reject_containing = None  # content with this text gets a 422

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/realtime/transcripts"

    async def _serve(self):
        app = web.Application()
        app.router.add_post("/realtime/transcripts", self._save)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._started.set()
        await asyncio.Event().wait()

    async def _save(self, request):
        self.attempts += 1
        if self.fail_next:
            status, body = self.fail_next.pop(0)
            return web.json_response(body, status=status)
        auth = request.headers.get("Authorization", "")
        user = jwt_user(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if user is None:
            return web.json_response({"detail": "Could not validate credentials"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        try:
            data = TranscriptCreate.model_validate_json(await request.read())
        except ValidationError as e:
            return web.json_response({"detail": json.loads(e.json())}, status=422)
        if self.reject_containing and self.reject_containing in data.content:
            return web.json_response({"detail": [{"loc": ["body", "content"], "msg": "not allowed"}]}, status=422)
        if data.user_id != user:
            return web.json_response({"detail": "Cannot save transcript for another user"}, status=403)
        self.saved.append(data.model_dump(mode="json"))
        return web.json_response({"id": str(len(self.saved))})
