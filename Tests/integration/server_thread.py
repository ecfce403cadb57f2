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
