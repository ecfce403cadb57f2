#!/usr/bin/env python3
"""make run's microphone and speaker, through FIFOs the simulated board's ALSA devices
use (board/sim/asound.conf). Standard library only: make run needs no PyPI.

  demo-audio.py mic FIFO FIXTURE CONTROL_SOCKET
      feeds the capture device (PARLEY_SIM_MIC) silence, and FIXTURE from its start each
      time a push-to-talk turn begins (the daemon's status over its control socket, polled
      every 50 ms): every press in the demo hears the sentence
  demo-audio.py speaker FIFO WAV
      writes what the playback device sends (PARLEY_SIM_SPEAKER, raw) to WAV with a header
      kept true as it grows (rewritten every second), so it can be played while the daemon
      runs
"""
import ctypes
import fcntl
import signal
import struct
import json
import os
import socket
import sys
import time

RATE = 48000
CHUNK = RATE // 100 * 2  # 10 ms of S16_LE mono
F_SETPIPE_SZ = 1031


def turn(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(path)
            s.sendall(b'{"command": "status"}\n')
            return json.loads(s.makefile().readline())["status"]["state"]["turn"]
    except (OSError, ValueError, KeyError):
        return None  # not up yet, or stopping


def feed(fifo, fixture, control):
    silence = bytes(CHUNK)
    # A small pipe: the speech starts within ~50 ms of the press, not after 0.7 s of queued silence.
    fd = os.open(fifo, os.O_WRONLY)  # waits for the daemon to open its microphone
    fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)
    playing, previous, polled = None, None, 0.0
    while True:
        now = time.monotonic()
        if now - polled >= 0.05:
            polled, current = now, turn(control)
            if current == "listening" and previous != "listening":
                playing = 0  # a press: the fixture from its start
            previous = current
        if playing is not None and playing < len(fixture):
            chunk, playing = fixture[playing:playing + CHUNK], playing + CHUNK
        else:
            chunk, playing = silence, None
        os.write(fd, chunk.ljust(CHUNK, b"\0"))  # blocks: the daemon reads in real time


def wav_header(data_bytes):
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16,
                       b"data", data_bytes)


def record(fifo, wav):
    with open(wav, "wb") as out:
        out.write(wav_header(0))
        written, stamped = 0, time.monotonic()
        while True:
            with open(fifo, "rb", buffering=0) as source:  # waits for the daemon to open its speaker
                while chunk := source.read(65536):
                    out.write(chunk)
                    written += len(chunk)
                    if time.monotonic() - stamped >= 1.0:
                        stamped = time.monotonic()
                        out.seek(0)
                        out.write(wav_header(written))
                        out.seek(0, os.SEEK_END)
                        out.flush()
            out.seek(0)
            out.write(wav_header(written))  # the daemon closed it (stopping, or reopening it)
            out.seek(0, os.SEEK_END)
            out.flush()


def end_with_parent():
    """Ends when make run's script does, however that ends (the interpreter may be started
    through a wrapper, such as pyenv's shims, whose PID the script holds)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:
        sys.exit(0)


def main():
    end_with_parent()
    if sys.argv[1] == "speaker":
        record(sys.argv[2], sys.argv[3])
    fifo, fixture, control = sys.argv[2], open(sys.argv[3], "rb").read(), sys.argv[4]
    while True:
        try:
            feed(fifo, fixture, control)
        except BrokenPipeError:
            time.sleep(0.1)  # the daemon closed its microphone (stopping, or reopening it)


if __name__ == "__main__":
    main()
