"""How soon a started daemon can be used, on the real parleyd (release build) on the sim
profile (board/sim/50-board.toml: echo backend, simulated board, ALSA file devices):

  startup.ready_ms   exec → READY=1 on its notify socket (what systemd waits for before
                     the unit is active), --starts runs, each stopped with SIGTERM

Prints JSON.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import percentiles  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def start_once(parleyd, work, env):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = work / "notify.sock"
    path.unlink(missing_ok=True)
    notify.bind(str(path))
    notify.settimeout(10)
    started = time.monotonic()
    daemon = subprocess.Popen([parleyd, "--config", str(work / "parley.toml")], env=dict(env, NOTIFY_SOCKET=str(path)),
                              stdout=subprocess.DEVNULL, stderr=open(work / "parleyd.log", "w"))
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        return time.monotonic() - started
    finally:
        daemon.send_signal(signal.SIGTERM)
        if daemon.wait(timeout=10) != 0:
            raise SystemExit(f"parleyd exited {daemon.returncode}: {(work / 'parleyd.log').read_text()}")
        notify.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", default=str(ROOT / ".build/release/parleyd"))
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="parley-bench-startup-"))
    config = (ROOT / "board/sim/50-board.toml").read_text() + f'\n[control]\nsocket = "{work}/control.sock"\n'
    (work / "parley.toml").write_text(config)
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{ROOT}/board/sim/asound.conf",
               PARLEY_SIM_MIC="/dev/zero", PARLEY_SIM_SPEAKER=str(work / "speaker.wav"))
    start_once(args.parleyd, work, env)  # the binary in the page cache, as on a device after boot
    ready = [start_once(args.parleyd, work, env) for _ in range(args.starts)]
    print(json.dumps({"startup": {"ready_ms": percentiles(ready), "starts": args.starts}}))


if __name__ == "__main__":
    main()
