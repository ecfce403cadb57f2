"""Security checks on the running daemon: the control socket refuses users who are not root,
the daemon's user or in its group, even when its file mode lets them connect; TLS
verification is off only by backend.tls_verify = false, which warns on every connect."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import start_on_backend
from fake_openai import FakeRealtime
from parleyd_process import BASE_CONFIG, PARLEYCTL, Control
from test_openai_backend import ready, wait_for
from tls_certs import make_ca_and_server

KEY = "sk-test-security-key-0123456789abcdef"
NOBODY = 65534

ASK_STATUS = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(json.dumps({"connect": e.strerror})); sys.exit()
try:
    s.sendall(b'{"command": "status"}\\n')
except BrokenPipeError:  # refused: the daemon wrote why and closed before this was sent
    pass
print(s.makefile().readline().strip() or "{}")
"""


def as_user(uid: int, gid: int, socket_path: Path) -> dict:
    """The status request from another user: setpriv drops to uid/gid with no other groups."""
    result = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                             sys.executable, "-c", ASK_STATUS, str(socket_path)],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def open_dir():
    """A directory every user can traverse (pytest's own are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="parley-sec-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_the_control_socket_refuses_other_users_even_when_its_mode_lets_them_in(daemon, tmp_path, open_dir):
    sock = open_dir / "control.sock"
    d = daemon(config=BASE_CONFIG, env={"PARLEY_CONTROL__SOCKET": str(sock), "PARLEY_CONTROL__MODE": "0666"}).start()
    d.notify.wait_for("READY=1")
    assert Control(sock).status()["backend"] == "echo"        # root
    reply = as_user(NOBODY, NOBODY, sock)                      # the mode lets nobody connect
    assert reply["ok"] is False and reply["error"].startswith("refused: uid 65534"), reply
    assert "status" not in reply
    assert d.log.count("control socket: refused 1 client(s) since the last such line, the latest: uid 65534") == 1
    # parleyctl, refused, says why, whether or not the daemon closed before its request went.
    ctl = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          PARLEYCTL, "status", "--socket", str(sock)], capture_output=True, text=True, timeout=10)
    assert ctl.returncode != 0 and "refused: uid 65534" in ctl.stderr, (ctl.returncode, ctl.stderr)
    # Someone in the socket's group (here the daemon's, root's gid 0) is let in.
    assert as_user(NOBODY, 0, sock)["ok"] is True
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


FLOOD = """
import socket, sys
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    if sys.argv[3] == "garbage":
        try:  # a refused client may find the socket closed on it already
            s.sendall(b"not json\\n")
            s.recv(4096)
        except OSError:
            pass
    s.close()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_a_flood_on_the_control_socket_writes_a_bounded_number_of_lines(daemon, tmp_path, open_dir):
    """Regression: 200 connect-and-hang-ups wrote 35–113 WARNING lines. A client gone before it
    was asked who it is is nothing to log; refused clients and bad requests are counted, a line
    at once and then at most one a minute, and the daemon answers throughout."""
    sock = open_dir / "control.sock"
    d = daemon(config=BASE_CONFIG, env={"PARLEY_CONTROL__SOCKET": str(sock), "PARLEY_CONTROL__MODE": "0666"}).start()
    d.notify.wait_for("READY=1")
    before = len(d.lines)
    for who, count, what in ((["--reuid=0", "--regid=0"], 1000, "hangup"),
                             ([f"--reuid={NOBODY}", f"--regid={NOBODY}"], 300, "garbage"),
                             (["--reuid=0", "--regid=0"], 300, "garbage")):
        subprocess.run(["setpriv", *who, "--clear-groups", sys.executable, "-c", FLOOD, str(sock), str(count), what],
                       check=True, timeout=120)
    assert Control(sock).status()["backend"] == "echo"
    flood = [line for line in d.lines[before:] if "control socket" in line]
    assert len(flood) == 2, flood  # one refusal line, one bad-request line
    assert "refused 1 client(s) since the last such line, the latest: uid 65534" in flood[0]
    assert "1 bad request(s) since the last such line" in flood[1]
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_with_its_default_mode_other_users_cannot_even_connect(daemon, tmp_path, open_dir):
    sock = open_dir / "control.sock"
    d = daemon(config=BASE_CONFIG, env={"PARLEY_CONTROL__SOCKET": str(sock)}).start()
    d.notify.wait_for("READY=1")
    assert oct(sock.stat().st_mode & 0o777) == "0o660"
    assert as_user(NOBODY, NOBODY, sock) == {"connect": "Permission denied"}
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_tls_verification_off_only_by_the_flag_and_every_connect_says_so(daemon, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    _, context = make_ca_and_server(certs, expired=True)   # and its CA is not trusted either
    fake = FakeRealtime(api_key=KEY, ssl=context).start()
    fake.response_audio_seconds = 1.0
    d = start_on_backend(daemon, tmp_path, "openai", f'url = "{fake.url}"', KEY,
                         dropins_extra="[backend]\ntls_verify = false\n")
    control = Control(tmp_path / "control.sock")
    ready(control)
    warning = "TLS certificate verification is OFF (backend.tls_verify = false): wss://localhost"
    assert d.log.count(warning) == 1
    fake.drop_after_deltas = 1  # a reconnect: the second connect warns again
    control.ctl("say", "hello")
    wait_for(lambda: fake.connections == 2 and d.log.count(warning) == 2, what="a second warned connect")
    ready(control)
    assert KEY not in d.log
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert fake.violations == []
