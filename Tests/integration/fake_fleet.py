"""A fleet's provisioning server as an operator would run one (docs/FLEET.md): static files
over HTTPS with ETags and If-None-Match, each with a detached Ed25519 signature made by the
openssl CLI (`openssl pkeyutl -sign -rawin`), and a report route collecting what devices say.
It can be down (connections dropped) and be told to serve a bad signature."""
import hashlib
import json
import time
import subprocess
from pathlib import Path

from aiohttp import web

from server_thread import ServerThread
from tls_certs import make_ca_and_server


class FleetKey:
    """An Ed25519 key pair made like an operator's: `openssl genpkey -algorithm ed25519`."""

    def __init__(self, directory: Path):
        self.pem = directory / "fleet.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(self.pem)], check=True)
        public = subprocess.run(["openssl", "pkey", "-in", str(self.pem), "-pubout"], check=True,
                                capture_output=True, text=True).stdout
        self.public = "".join(line for line in public.splitlines() if not line.startswith("-----"))

    def sign(self, data: bytes, directory: Path) -> bytes:
        message = directory / "message.toml"
        message.write_bytes(data)
        subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(self.pem), "-in", str(message),
                        "-out", str(directory / "message.sig")], check=True)
        return (directory / "message.sig").read_bytes()


class FakeFleet(ServerThread):
    def __init__(self, directory: Path, key: FleetKey):
        super().__init__()
        self.directory = directory
        self.key = key
        self.ca, self.ssl = make_ca_and_server(directory)
        self.files: dict[str, bytes] = {}
        self.signatures: dict[str, bytes] = {}
        self.reports: list[dict] = []
        self.requests: list[tuple[str, str | None, int]] = []  # path, If-None-Match, status
        self.down = False
        self.last_served: dict[str, float] = {}  # file → when a 200 last carried it (monotonic)

    def publish(self, name: str, text: str, signed_by: FleetKey | None = None):
        data = text.encode()
        signature = (signed_by or self.key).sign(data, self.directory)
        self.signatures[name + ".sig"] = signature  # before the file: never a new file with an old signature
        self.files[name] = data

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/parley"

    async def _serve(self):
        @web.middleware
        async def unavailable(request, handler):
            if self.down:
                request.transport.close()  # no answer at all: the server is down
                raise web.HTTPServiceUnavailable()
            return await handler(request)

        async def get(request):
            name = request.match_info["name"]
            body = self.files.get(name, self.signatures.get(name))
            if body is None:
                self.requests.append((name, None, 404))
                return web.Response(status=404)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                self.requests.append((name, etag, 304))
                return web.Response(status=304, headers={"ETag": etag})
            self.requests.append((name, request.headers.get("If-None-Match"), 200))
            self.last_served[name] = time.monotonic()
            return web.Response(body=body, headers={"ETag": etag})

        async def report(request):
            self.reports.append({"device": request.match_info["device"], **json.loads(await request.read()),
                                 "_received": time.monotonic()})
            return web.json_response({"ok": True})

        app = web.Application(middlewares=[unavailable])
        app.router.add_get("/parley/{name}", get)
        app.router.add_post("/parley/{device}/report", report)
        from aiohttp import web as w
        runner = w.AppRunner(app)
        await runner.setup()
        site = w.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.ssl)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._started.set()
        import asyncio
        await asyncio.Event().wait()
