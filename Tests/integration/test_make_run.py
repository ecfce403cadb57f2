"""`make run` as a new user meets it (scripts/run.sh with this build): the demo turn, the
speaker's WAV playable while the daemon runs, and a later press that hears the sentence
again and echoes it."""
import os
import signal
import subprocess
import time
import wave
from pathlib import Path

import numpy as np

from parleyd_process import PARLEYD
from test_openai_backend import wait_for

ROOT = Path(__file__).resolve().parents[2]
SOCKET = "/tmp/parley-sim/control.sock"  # run.sh's


def speech_seconds(wav_path, after=0.0):
    """Seconds of loud half-second blocks in the WAV (as a player reads it now) after `after`."""
    with wave.open(str(wav_path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
    block = 24000
    start = int(after * 48000) // block * block
    blocks = samples[start:len(samples) // block * block].reshape(-1, block)
    return float((np.sqrt((blocks ** 2).mean(axis=1)) > 500).sum() / 2), len(samples) / 48000


def ctl(*args):
    parleyctl = Path(PARLEYD).parent / "parleyctl"
    return subprocess.run([str(parleyctl), *args], env=dict(os.environ, PARLEY_CONTROL_SOCKET=SOCKET),
                          capture_output=True, text=True, timeout=10).stdout


def test_make_run_demo_and_a_second_press(tmp_path):
    run_dir = tmp_path / "run"
    demo = subprocess.Popen([str(ROOT / "scripts/run.sh")], cwd=ROOT, start_new_session=True, text=True,
                            env=dict(os.environ, BUILD_DIR=str(Path(PARLEYD).parent), RUN_DIR=str(run_dir)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            if "make run: one turn done" in line:
                break
        assert any("one turn done" in l for l in lines), "".join(lines)
        speaker = run_dir / "speaker.wav"
        # Playable now, with the daemon running: the demo turn's echo is in it.
        first, length = speech_seconds(speaker)
        assert first >= 3, (first, length)

        ctl("ptt", "press")
        time.sleep(6)
        ctl("ptt", "release")
        wait_for(lambda: "turn      idle" in ctl("status"), timeout=30, what="the second echo played out")
        time.sleep(1.5)  # the header is brought up to date every second
        second, _ = speech_seconds(speaker, after=length)
        assert second >= 3, second  # the sentence again, not the silence after it
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=20)
    # Nothing of the demo is left behind (its feeders end with the script).
    leftover = lambda: subprocess.run(["pgrep", "-f", f"demo-audio.py .* {run_dir}"], capture_output=True, text=True).stdout
    deadline = time.monotonic() + 5
    while leftover() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover() == "", leftover()
