"""Fixtures for the daemon-level tests; the process harness itself is parleyd_process.py."""
import pytest

from parleyd_process import BASE_CONFIG, PARLEYD, SIM_ALSA, Control, Daemon, run_parleyd  # noqa: F401
from pulse import PulseServer, pulse  # noqa: F401  (fixture)


@pytest.fixture
def daemon(tmp_path):
    started = []

    def make(**kwargs):
        d = Daemon(tmp_path, **kwargs)
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()
        print(f"--- parleyd log (last 80 lines) ---\n" + "\n".join(d.log.splitlines()[-80:]))  # shown when the test failed


def start_on_backend(daemon, tmp_path, kind, settings, key=None, mic="/dev/zero", dropins_extra="",
                     key_name="api_key_file"):
    """parleyd on `kind` (fast reconnects) with `settings` under [backend.<kind>] plus, with a
    `key`, a `key_name` file holding it (mode 0600); returns the daemon once READY (its
    control socket, tmp_path/control.sock, listens by then)."""
    if key is not None:
        key_file = tmp_path / f"{kind}.key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        settings += f'\n{key_name} = "{key_file}"'
    config = BASE_CONFIG.replace('kind = "echo"', f'kind = "{kind}"\nreconnect_initial_ms = 200\nreconnect_max_ms = 2000') + (
        f'\n[backend.{kind}]\n{settings}\n')
    d = daemon(config=config, env={"PARLEY_CONTROL__SOCKET": str(tmp_path / "control.sock"),
                                   "PARLEY_SIM_MIC": str(mic)},
               dropins={"50-test.toml": dropins_extra} if dropins_extra else None).start()
    d.notify.wait_for("READY=1")
    return d
