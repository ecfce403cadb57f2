"""Which functions parleyd runs on its common paths, for the linker to lay out together
(scripts/code-order.sh).
  code-order.py run PARLEYD PARLEYCTL   runs both (wrappers that run the binary under valgrind's
                                        callgrind, one output file per process) at their everyday work:
  - the openai backend on the fake Realtime server (WebSocket), three push-to-talk turns;
  - the `make run` default (echo backend, simulated board), a turn and a `say`;
  - check-config, and parleyctl's status (parleyctl is the same binary).
  Each daemon's counts are dumped at READY and again after its turns (callgrind_control -d),
  so its steady work (callgrind.PID.2) is told from starting and stopping.
  code-order.py collect BINARY FILE...  prints the input section of each function of the binary
                                        those callgrind outputs saw run (`.text.<symbol>`): first
                                        what the daemons ran once READY (the code that stays
                                        resident: parleyd drops the rest, StartupCode), then the
                                        rest; each part sorted. With each, the functions the
                                        linker folded into it in BINARY (--icf): it keeps the
                                        section of one of them, and callgrind names another
"""
import re
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests/integration"))
import bench_latency as bench  # noqa: E402
from fake_openai import FakeRealtime  # noqa: E402


def ready(sock: str) -> bool:
    try:
        return bench.control(sock, {"command": "status"})["status"]["state"]["indicator"] == "ready"
    except OSError:
        return False


def turns(sock: str, count: int):
    for _ in range(count):
        bench.control(sock, {"command": "ptt", "action": "press"})
        time.sleep(2)
        bench.control(sock, {"command": "ptt", "action": "release"})
        time.sleep(4)


def stop(daemon: subprocess.Popen):
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(120)


def dump(daemon: subprocess.Popen):
    """Writes the counts so far to callgrind.PID.N and starts them afresh."""
    subprocess.run(["callgrind_control", "-d", str(daemon.pid)], stdout=subprocess.DEVNULL, check=True)


def collect(binary: str, files: list[str]):
    """Every function callgrind saw run in an object named parleyd or parleyctl, those of the
    daemons' steady dumps first: `fn=` lines are the functions, `cfn=` lines the ones they
    called; names and objects are compressed to `(id)` after their first mention."""
    steady = set().union(*[functions(f) for f in files if re.search(r"\.\d+\.2$", f)])
    rest = set().union(*[functions(f) for f in files]) - steady
    folded = aliases(binary)
    printed = set()
    for name in sorted(steady) + sorted(rest):
        for section in [name] + folded.get(name, []):
            if section not in printed:
                printed.add(section)
                print(f".text.{section}")


def aliases(binary: str) -> dict[str, list[str]]:
    """Each function's name → the other functions at its address (folded by --icf)."""
    at: dict[str, list[str]] = {}
    nm = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    for line in nm.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tT":
            at.setdefault(fields[0], []).append(fields[2])
    return {name: [n for n in names if n != name] for names in at.values() if len(names) > 1 for name in names}


def functions(path: str) -> set[str]:
    entry = re.compile(r"^(c?)(fn|ob)=\((\d+)\)(?: (.*))?$")
    seen = set()
    names, objects, current, called = {}, {}, None, None
    for line in open(path):
        m = entry.match(line.rstrip("\n"))
        if not m:
            continue
        call, kind, key, name = m.groups()
        table = names if kind == "fn" else objects
        if name:
            table[key] = name
        if kind == "ob":
            if call:
                called = objects[key]
            else:
                current = objects[key]
            continue
        obj = (called or current) if call else current
        if call:
            called = None
        if obj and Path(obj).name in ("parleyd", "parleyctl"):
            seen.add(names[key])
    return seen


def run(parleyd: str, parleyctl: str):
    work = Path(tempfile.mkdtemp(prefix="parley-code-order-"))
    fake = FakeRealtime(api_key=bench.KEY).start()
    fake.response_audio_seconds = 1.0
    daemon, sock = bench.launch_on_fake(parleyd, work, fake, "null")
    bench.wait_until(lambda: ready(sock), timeout=120)
    dump(daemon)
    turns(sock, 3)
    bench.control(sock, {"command": "status"})
    dump(daemon)
    stop(daemon)

    sim = work / "sim"
    sim.mkdir()
    config = (ROOT / "board/sim/50-board.toml").read_text() + f'\n[control]\nsocket = "{sim}/control.sock"\n'
    (sim / "parley.toml").write_text(config)
    env = dict(os.environ, ALSA_CONFIG_PATH=f"{bench.device_alsa_conf(sim)}:{ROOT}/board/sim/asound.conf",
               PARLEY_SIM_MIC="/dev/zero", PARLEY_SIM_SPEAKER=str(sim / "speaker.wav"),
               PARLEY_CONTROL_SOCKET=f"{sim}/control.sock")
    env.pop("NOTIFY_SOCKET", None)
    daemon = subprocess.Popen([parleyd, "--config", str(sim / "parley.toml")], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(sim / "parleyd.log", "w"))
    bench.wait_until(lambda: ready(f"{sim}/control.sock"), timeout=120)
    dump(daemon)
    turns(f"{sim}/control.sock", 1)
    bench.control(f"{sim}/control.sock", {"command": "say", "text": "parley check"})
    time.sleep(4)
    dump(daemon)
    subprocess.run([parleyd, "check-config", "--config", str(sim / "parley.toml")], env=env,
                   stdout=subprocess.DEVNULL, check=True)
    subprocess.run([parleyctl, "status"], env=env, stdout=subprocess.DEVNULL, check=True)
    stop(daemon)


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    else:
        collect(sys.argv[2], sys.argv[3:])
