"""`make hil`: the hardware-in-the-loop suite (docs/HIL.md).

On the host: the validating fake Realtime server (Tests/integration/fake_openai.py) and a
link the guest asks about it — the host clock, the events the server received and when, the
audio of each committed turn, when each answer's first delta left. Then the VM boots
(scripts/hil/run-in-vm.sh) and runs Tests/hil/guest under pytest: the real parleyd on the
snd-aloop card and the gpio-sim chip, talking to the fake at 10.0.2.2. Then it boots again,
into a Debian root with the package installed by apt and systemd as PID 1
(scripts/hil/systemd-root.sh), and runs Tests/hil/systemd against parleyd.service; a few more
boots time READY after boot. Exits with the suites' status; prints a summary with the
figures the guests wrote to --results."""
import argparse
import asyncio
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests/integration"))
sys.path.insert(0, str(ROOT / "Tests/hil"))
from fake_openai import FakeRealtime  # noqa: E402
from server_thread import ServerThread  # noqa: E402
from hilvm import backend_toml  # noqa: E402

KEY = "sk-hil-fake-key-1234567890"
GPIO_LINES = "ptt cancel led_ready led_listen led_think led_speak led_error"
TUNABLE = {"response_audio_seconds", "speak_pace", "drop_after_deltas", "answer_audio"}


class HostLink(ServerThread):
    """JSON lines on 127.0.0.1 (the guest's 10.0.2.2): one request, one reply."""

    def __init__(self, fake: FakeRealtime):
        super().__init__()
        self.fake = fake
        self.port = None

    async def _serve(self):
        server = await asyncio.start_server(self._client, "127.0.0.1", 0, limit=1 << 22)  # answer_audio: seconds of PCM
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        async with server:
            await server.serve_forever()

    async def _client(self, reader, writer):
        while line := await reader.readline():
            try:
                reply = self._answer(json.loads(line))
            except Exception as e:  # a harness bug: tell the guest, keep serving
                reply = {"error": repr(e)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()

    def _answer(self, request: dict) -> dict:
        fake, op = self.fake, request["op"]
        if op == "time":
            return {"t": time.monotonic()}
        if op == "events":  # [type, host time] of every client event since `since`
            since = request.get("since", 0.0)
            return {"events": [[e["type"], t] for e, t in zip(list(fake.events), list(fake.event_times)) if t >= since]}
        if op == "first_deltas":
            return {"times": list(fake.first_delta_times)}
        if op == "committed":
            turns = list(fake.committed)
            audio = turns[request.get("index", -1)] if turns else b""
            return {"count": len(turns), "audio": base64.b64encode(audio).decode()}
        if op == "configure":
            for key, value in request["set"].items():
                if key not in TUNABLE:
                    raise KeyError(key)
                setattr(fake, key, value)
            return {}
        if op == "server":
            return {"connections": fake.connections, "violations": list(fake.violations)}
        raise ValueError(f"unknown op {op!r}")


def summary(results: Path) -> str:
    if not results.exists():
        return "hil: no results came back from the guest"
    figures = json.loads(results.read_text())["hil"]
    systemd = figures.pop("systemd", {})
    rows = [f"  {name:32s} p50 {v['p50']:8.2f} ms   p99 {v['p99']:8.2f} ms"
            for name, v in sorted(figures.items()) if isinstance(v, dict) and "p99" in v]
    rows += [f"  systemd.{name:24s} p50 {v['p50']:8.1f} ms   max {v['max']:8.1f} ms  (n={v['n']})"
             for name, v in sorted(systemd.items()) if isinstance(v, dict) and "p50" in v]
    rows += [f"  systemd.{name:24s} {v}" for name, v in sorted(systemd.items()) if not (isinstance(v, dict) and "p50" in v)]
    extra = [f"  {name:32s} {v}" for name, v in sorted(figures.items()) if not (isinstance(v, dict) and "p99" in v)]
    return "hil latency on the VM's kernel (snd-aloop, gpio-sim):\n" + "\n".join(rows + extra)


def run_suite(suite: str, pytest_args: list[str], env: dict) -> int:
    """Tests/hil/<suite> under pytest in the VM (run-in-vm.sh; HIL_ROOT in `env` boots the
    installed root); its exit status."""
    return subprocess.call(
        [str(ROOT / "scripts/hil/run-in-vm.sh"), str(ROOT / ".venv/bin/python"), "-m", "pytest", "-p", "no:cacheprovider",
         "-v", "-rfEs", "--color=no", str(ROOT / "Tests/hil" / suite), *pytest_args], env=env, cwd=ROOT)


def installed_root(work: Path, deb: Path, kver: str, fake_port: int) -> Path:
    """The Debian root with the package installed by apt, and what an operator adds to a
    device: the backend drop-in, the key file and the unit drop-in that loads it."""
    root = Path(subprocess.check_output([str(ROOT / "scripts/hil/systemd-root.sh"), "mount", str(deb), str(work), kver],
                                        text=True).strip())
    (root / "etc/parley/conf.d/60-backend.toml").write_text(
        "# An operator's drop-in: the backend, the key by credential (parleyd.service.d/50-key.conf).\n"
        + backend_toml(fake_port, 'api_key_credential = "openai-key"'))
    key = root / "etc/parley/credentials/openai.key"
    key.parent.mkdir(mode=0o700, exist_ok=True)
    key.write_text(KEY)
    key.chmod(0o600)
    unit = root / "etc/systemd/system/parleyd.service.d/50-key.conf"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text("[Service]\nLoadCredential=openai-key:/etc/parley/credentials/openai.key\n")
    return root


def run_systemd(env: dict, deb: Path, boots: int, pytest_args: list[str]) -> tuple[int, dict]:
    """Tests/hil/systemd in the booted root; boots after the first only time READY after boot."""
    cache = subprocess.check_output([str(ROOT / "scripts/hil/setup.sh")], text=True).strip()
    work = Path(tempfile.mkdtemp(prefix="parley-hil-root."))
    shared = ROOT / ".build/hil/guest-systemd-results.json"
    figures: dict = {}
    status = 0
    try:
        root = installed_root(work, deb, Path(cache).name, int(env["HIL_FAKE_PORT"]))
        for boot in range(boots):
            shared.unlink(missing_ok=True)
            only = pytest_args if boot == 0 else ["-k", "ready_after_boot"]
            rc = run_suite("systemd", only, dict(env, HIL_CACHE_DIR=cache, HIL_ROOT=str(root), HIL_RESULTS=str(shared)))
            status = status or rc
            if shared.exists():
                for name, value in json.loads(shared.read_text())["systemd"].items():
                    if isinstance(value, list):
                        figures.setdefault(name, []).extend(value)
                    elif boot == 0:
                        figures[name] = value
            if rc:
                break
    finally:
        subprocess.call([str(ROOT / "scripts/hil/systemd-root.sh"), "umount", str(work)])
        shutil.rmtree(work, ignore_errors=True)
    for name, values in list(figures.items()):  # samples → p50 over them
        if isinstance(values, list):
            figures[name] = {"p50": round(statistics.median_low(values), 1), "max": max(values), "n": len(values)}
    return status, figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", default=str(ROOT / ".build/release/parleyd"))
    parser.add_argument("--results", default=str(ROOT / ".build/hil/results.json"))
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--deb", help="the package the booted root installs (default: the newest build/parley_*.deb)")
    parser.add_argument("--boots", type=int, default=5, help="boots of the installed root (READY after boot p50)")
    parser.add_argument("--suite", choices=["all", "guest", "systemd"], default="all")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest in the guest (e.g. -k barge)")
    args = parser.parse_args()

    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    shared = ROOT / ".build/hil/guest-results.json"  # the guest writes only inside the repository
    shared.parent.mkdir(parents=True, exist_ok=True)
    shared.unlink(missing_ok=True)
    fake = FakeRealtime(api_key=KEY).start()
    link = HostLink(fake).start()
    env = dict(os.environ, HIL_FAKE_PORT=str(fake.port), HIL_LINK_PORT=str(link.port), HIL_API_KEY=KEY,
               HIL_PARLEYD=args.parleyd, HIL_RESULTS=str(shared), HIL_TURNS=str(args.turns),
               HIL_GPIO_LINES=GPIO_LINES)
    status = 0
    if args.suite in ("all", "guest"):
        started = time.monotonic()
        status = run_suite("guest", args.pytest_args, env)
        print(f"hil: VM and suite took {time.monotonic() - started:.1f} s; exit status {status}")
    merged = json.loads(shared.read_text()) if shared.exists() else {"hil": {}}
    shared.unlink(missing_ok=True)
    if args.suite in ("all", "systemd"):
        started = time.monotonic()
        debs = sorted((ROOT / "build").glob("parley_*.deb"))
        deb = Path(args.deb) if args.deb else (debs[-1] if debs else None)
        if deb is None:
            sys.exit("hil: no build/parley_*.deb for the installed service: run `make deb` (make hil does)")
        rc, merged["hil"]["systemd"] = run_systemd(env, deb, args.boots,
                                                   args.pytest_args if args.suite == "systemd" else [])
        print(f"hil: the installed service's VM boots and suite took {time.monotonic() - started:.1f} s; exit status {rc}")
        status = status or rc
    results.write_text(json.dumps(merged, indent=2, sort_keys=True))
    if fake.violations:
        print("hil: events the OpenAI SDK models refuse:\n  " + "\n  ".join(fake.violations))
        status = status or 1
    print(summary(results))
    sys.exit(status)


if __name__ == "__main__":
    main()
