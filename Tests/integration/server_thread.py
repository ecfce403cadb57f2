"""The fakes' common frame: an asyncio loop on a daemon thread, started and waited for."""
import asyncio
import threading


class ServerThread:
    """Subclasses define `async _serve()`, which calls `self._started.set()` once listening."""

    def __init__(self):
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()
        assert self._started.wait(5), f"{type(self).__name__} did not start"
        return self

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve_app(self, app, port: int = 0):
        """Serves an aiohttp app on 127.0.0.1 (`port` 0: any free one, kept in self.port) until the process ends."""
        from aiohttp import web
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._started.set()
        await asyncio.Event().wait()
