"""Audio helpers for daemon-level tests: spoken fixtures (espeak-ng + sox), WAV reading,
correlation and tone detection (numpy-free: pure Python on short signals)."""
import array
import math
import subprocess
import time
import wave


def spoken_fixture(path, text, rate=48000, lead=0.5, tail=1.0):
    """Raw S16_LE mono at `rate`: `lead` s of silence, the words, `tail` s of silence."""
    wav = path.with_suffix(".said.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), text], check=True)
    subprocess.run(["sox", "-q", str(wav), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer",
                    "-t", "raw", str(path), "pad", str(lead), str(tail)], check=True)
    return samples_of_raw(path)


def samples_of_raw(path):
    data = array.array("h")
    data.frombytes(path.read_bytes())
    return data


def samples_of_wav(path):
    with wave.open(str(path)) as w:
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
        return data, w.getframerate()


def envelope(samples, rate, hop_ms=10):
    """RMS per `hop_ms` block: compares speech loosely enough to survive DSP and resampling."""
    hop = rate * hop_ms // 1000
    return [math.sqrt(sum(x * x for x in samples[i:i + hop]) / hop) for i in range(0, len(samples) - hop, hop)]


def best_correlation(needle, haystack):
    """Peak normalised cross-correlation of `needle` slid over `haystack` (both envelopes)."""
    n = len(needle)
    mean_n = sum(needle) / n
    dn = [x - mean_n for x in needle]
    norm_n = math.sqrt(sum(x * x for x in dn)) or 1
    best = (-1.0, 0)
    for offset in range(0, len(haystack) - n + 1):
        window = haystack[offset:offset + n]
        mean_w = sum(window) / n
        dw = [x - mean_w for x in window]
        norm_w = math.sqrt(sum(x * x for x in dw)) or 1
        c = sum(a * b for a, b in zip(dn, dw)) / (norm_n * norm_w)
        if c > best[0]:
            best = (c, offset)
    return best


def tone_power(samples, rate, hz):
    """Goertzel: relative power of `hz` in `samples` (0..1 of the block's energy)."""
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    energy = sum(x * x for x in samples) or 1
    return power / (energy * len(samples) / 2)


class SoundEdges:
    """When a played signal, read in blocks by a thread of the subclass, started and stopped
    sounding (time.monotonic() seconds)."""

    def __init__(self):
        self.starts: list[float] = []
        self.stops: list[float] = []

    def first_after(self, times: list[float], t: float, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [x for x in times if x >= t]
            if later:
                return later[0]
            time.sleep(0.001)
        raise AssertionError(f"the sound did not start or stop within {timeout} s")
