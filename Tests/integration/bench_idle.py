"""The control plane at rest and at a press, on the real parleyd (release build), echo backend,
simulated board, ALSA file devices (the `make run` default):

  cpu.idle_percent_of_core      the whole daemon (every thread: audio, control plane, backend),
                                connected and idle, no turn, over --seconds (utime + stime from
                                /proc/<pid>/stat) — what an idle device costs
  latency.ptt_press_to_led_ms   a press on the control socket → the LED pattern the board shows
                                changes (ready → listening): the LED's `since` in status (when the
                                state it shows changed, CLOCK_MONOTONIC, the clock of time.monotonic())
                                less the moment before the press was sent

Prints JSON.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import control, percentiles, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def led(sock):
    return control(sock, {"command": "status"})["status"]["leds"][0]


def pattern(sock):
    return led(sock)["pattern"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", default=str(ROOT / ".build/release/parleyd"))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--presses", type=int, default=60)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="parley-bench-idle-"))
    sock = str(work / "control.sock")
    config = (ROOT / "board/sim/50-board.toml").read_text() + f'\n[control]\nsocket = "{sock}"\n'
    (work / "parley.toml").write_text(config)
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{ROOT}/board/sim/asound.conf",
               PARLEY_SIM_MIC="/dev/zero", PARLEY_SIM_SPEAKER=str(work / "speaker.wav"))
    env.pop("NOTIFY_SOCKET", None)
    daemon = subprocess.Popen([args.parleyd, "--config", str(work / "parley.toml")], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(work / "parleyd.log", "w"))
    try:
        wait_until(lambda: os.path.exists(sock) and
                   control(sock, {"command": "status"})["status"]["state"]["indicator"] == "ready")
        time.sleep(3)  # past start-up
        start_cpu, start = cpu_seconds(daemon.pid), time.monotonic()
        time.sleep(args.seconds)
        idle = (cpu_seconds(daemon.pid) - start_cpu) / (time.monotonic() - start) * 100

        presses = []
        ready_pattern = pattern(sock)
        for _ in range(args.presses):
            t_press = time.monotonic()
            control(sock, {"command": "ptt", "action": "press"})
            while (shown := led(sock))["pattern"] == ready_pattern:
                if time.monotonic() - t_press > 2:
                    raise TimeoutError("the LED did not change within 2 s")
            assert shown["since"] >= t_press, (shown, t_press)
            presses.append(shown["since"] - t_press)
            control(sock, {"command": "button", "button": "cancel", "action": "tap"})  # never mind: ready again
            control(sock, {"command": "ptt", "action": "release"})
            wait_until(lambda: pattern(sock) == ready_pattern)
            time.sleep(0.05)
        print(json.dumps({"cpu": {"idle_percent_of_core": round(idle, 3), "idle_seconds": args.seconds},
                          "latency": {"ptt_press_to_led_ms": percentiles(presses)}}, indent=2, sort_keys=True))
    finally:
        daemon.terminate()
        daemon.wait(10)


if __name__ == "__main__":
    main()
