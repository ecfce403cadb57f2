"""A private PulseAudio server with null sinks, reached through the ALSA `pulse` plugin:
real-time paced audio devices (and a mixer) without a sound card."""
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

    def pactl(self, *args) -> str:
        return subprocess.run(["pactl", *args], env={"PATH": os.environ["PATH"], "PULSE_SERVER": f"unix:{self.socket}"},
                              capture_output=True, text=True, check=True).stdout

    def asoundrc(self, path):
        """PCMs pmic/pspk and the mixer `pulse_spk` on this server."""
        path.write_text(f'pcm.pmic {{ type pulse server "unix:{self.socket}" device "mic.monitor" }}\n'
                        f'pcm.pspk {{ type pulse server "unix:{self.socket}" device "spk" }}\n'
                        f'ctl.pulse_spk {{ type pulse server "unix:{self.socket}" device "spk" }}\n')
        return f"/usr/share/alsa/alsa.conf:{path}"


@pytest.fixture
def pulse(tmp_path):
    server = PulseServer(tmp_path / "pulse")
    yield server
    if server.proc and server.proc.poll() is None:
        server.kill()
