"""An audio device that goes away and comes back: the ALSA `pulse` plugin on a PulseAudio
null sink; killing the server is the USB speakerphone being unplugged."""
import os
import signal
import subprocess
import time

import pytest


class PulseServer:
    def __init__(self, root):
        self.root = root
        root.mkdir(exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        (root / "run").mkdir(exist_ok=True)
        self.socket = root / "native"
        self.proc = None

    def start(self):
        env = {"PATH": os.environ["PATH"], "HOME": str(self.root / "home"),
               "PULSE_RUNTIME_PATH": str(self.root / "run")}
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--realtime=no",
             "--high-priority=no", "--log-level=error", "--disallow-exit",
             "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
             "-L", "module-null-sink sink_name=spk rate=48000 channels=1",
             "-L", "module-null-sink sink_name=mic rate=48000 channels=1",
             "-L", "module-always-sink"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            assert time.monotonic() < deadline, "pulseaudio did not start"
            time.sleep(0.05)
        return self

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        if self.socket.exists():
            self.socket.unlink()


@pytest.fixture
def pulse(tmp_path):
    server = PulseServer(tmp_path / "pulse")
    yield server
    if server.proc and server.proc.poll() is None:
        server.kill()


def test_device_lost_and_back_without_a_restart(daemon, pulse, tmp_path):
    pulse.start()
    rc = tmp_path / "asoundrc"
    rc.write_text(f'pcm.pmic {{ type pulse server "unix:{pulse.socket}" device "mic.monitor" }}\n'
                  f'pcm.pspk {{ type pulse server "unix:{pulse.socket}" device "spk" }}\n')
    config = ('[audio]\ncapture_device = "pmic"\nplayback_device = "pspk"\nrealtime_priority = 0\n'
              'reopen_max_ms = 400\n[backend]\nkind = "echo"\n')
    d = daemon(config=config, env={"WATCHDOG_USEC": "400000",
                                   "ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{rc}"}).start()
    d.notify.wait_for("READY=1")
    d.wait_log("session=created turn=idle")

    pulse.kill()
    d.wait_log("audio device lost", timeout=5)
    d.wait_log("audio=lost")  # the state (and the LEDs) show it
    lost = time.monotonic()
    time.sleep(1.5)
    during = d.notify.since(lost)
    assert "WATCHDOG=1" in during, "recovering is not hanging: the watchdog must keep being fed"
    assert any(m.startswith("STATUS=audio device lost") for m in d.notify.all())
    assert d.proc.poll() is None

    pulse.start()
    d.wait_log("audio device back", timeout=10)
    d.wait_log("session=created turn=idle\n", timeout=2)
    # alsa-lib's own error printer is silenced: every line is ours.
    assert all(" parley" in line or line.startswith("20") for line in d.lines if line.strip()), d.log
    assert "ALSA lib" not in d.log

    d.signal(signal.SIGTERM)
    assert d.wait(timeout=3) == 0
