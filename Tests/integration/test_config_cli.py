"""check-config, exit 78 and secrets, through the real binary."""
import os
import subprocess

from conftest import run_parleyd
from parleyd_process import PARLEYD

SECRET = "sk-proj-KNOWN-SECRET-abcdef0123456789"


def write(tmp_path, main, dropins=None):
    (tmp_path / "conf.d").mkdir(exist_ok=True)
    (tmp_path / "parley.toml").write_text(main)
    for name, text in (dropins or {}).items():
        (tmp_path / "conf.d" / name).write_text(text)
    return str(tmp_path / "parley.toml")


def test_check_config_prints_values_with_sources_and_redacts_secrets(tmp_path):
    key = tmp_path / "openai.key"
    key.write_text(SECRET + "\n")
    key.chmod(0o600)
    path = write(tmp_path, f'[backend]\nkind = "openai"\n[backend.openai]\napi_key_file = "{key}"\n',
                 {"10-audio.toml": "[audio]\nrate = 16000\n"})
    result = run_parleyd("check-config", "--config", path, env={"PARLEY_AUDIO__VOLUME": "35"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert SECRET not in out and SECRET not in result.stderr
    assert f'api_key_file = "{key}"' in out and f"secret read, {len(SECRET)} bytes, value redacted" in out
    assert f"rate = 16000" in out and f"# {tmp_path}/conf.d/10-audio.toml:2" in out
    assert "volume = 35" in out and "# env PARLEY_AUDIO__VOLUME" in out
    assert f'kind = "openai"' in out and f"# {path}:2" in out
    assert "period_ms = 10" in out  # defaults are shown too


def test_invalid_config_lists_every_problem_and_exits_78(tmp_path):
    path = write(tmp_path, '[audio]\nrate = "high"\nperid_ms = 10\n[ptt]\nmode = "hodl"\n',
                 {"50-board.toml": "[board]\ndebounce_ms = 5000\n"})
    for args in (["check-config", "--config", path], ["--config", path]):
        result = run_parleyd(*args)
        assert result.returncode == 78
        err = result.stderr
        assert "configuration has 4 problems" in err
        assert f"{path}:2: audio.rate: expected integer" in err
        assert f"{path}:3: audio.perid_ms: unknown key" in err and "did you mean audio.period_ms?" in err
        assert f"{path}:5: ptt.mode" in err and 'did you mean "hold"?' in err
        assert f"{tmp_path}/conf.d/50-board.toml:2: board.debounce_ms: 5000 is out of range" in err


def test_world_readable_secret_is_refused(tmp_path):
    key = tmp_path / "openai.key"
    key.write_text(SECRET)
    key.chmod(0o644)
    path = write(tmp_path, f'[backend]\nkind = "openai"\n[backend.openai]\napi_key_file = "{key}"\n')
    result = run_parleyd("check-config", "--config", path)
    assert result.returncode == 78
    assert f"chmod 600 {key}" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_a_config_file_anyone_may_write_is_refused(tmp_path):
    path = write(tmp_path, '[backend]\nkind = "echo"\n')
    dropin = tmp_path / "conf.d" / "60-fleet.toml"
    dropin.parent.mkdir(exist_ok=True)
    dropin.write_text('[ptt]\nmode = "toggle"\n')
    dropin.chmod(0o666)
    result = run_parleyd("check-config", "--config", path)
    assert result.returncode == 78
    assert f"{dropin}: writable by every user (owner root (uid 0), group root (gid 0), mode 0666)" in result.stderr
    assert f"chmod go-w {dropin}" in result.stderr
    dropin.chmod(0o664)  # group-writable by root's group: only root is in it
    assert run_parleyd("check-config", "--config", path).returncode == 0


NOBODY = 65534


def test_untrusted_writers_are_refused_like_sshd_strictmodes(tmp_path):
    """Regression: a drop-in by user nobody redirecting the backend, a group-writable drop-in
    and a world-writable conf.d were all accepted (check-config exited 0). Each now stops
    check-config and the daemon with 78, naming the path, owner, group, mode and the fix."""
    os.chmod(tmp_path, 0o755)
    path = write(tmp_path, '[backend]\nkind = "echo"\n')
    dropin = tmp_path / "conf.d" / "99-evil.toml"
    dropin.write_text('[backend.openai]\nurl = "wss://elsewhere.example/v1/realtime"\n')
    cases = [
        (lambda: os.chown(dropin, NOBODY, 0),
         f"{dropin}: owned by neither root nor the daemon's user (owner nobody (uid 65534), group root (gid 0), mode 0644)",
         f"chown root:root {dropin} && chmod go-w {dropin}"),
        (lambda: (os.chown(dropin, 0, NOBODY), dropin.chmod(0o664)),
         f"{dropin}: writable by a group not root's (owner root (uid 0), group nogroup (gid 65534), mode 0664)",
         f"chmod go-w {dropin}"),
        (lambda: (tmp_path / "conf.d").chmod(0o777),
         f"{tmp_path}/conf.d: writable by every user", f"chmod go-w {tmp_path}/conf.d"),
        (lambda: os.chmod(tmp_path, 0o777),
         f"{path}: directory {tmp_path} on the way to it: writable by every user", f"chmod go-w {tmp_path}"),
    ]
    for spoil, message, fix in cases:
        os.chown(dropin, 0, 0)
        dropin.chmod(0o644)
        (tmp_path / "conf.d").chmod(0o755)
        os.chmod(tmp_path, 0o755)
        assert run_parleyd("check-config", "--config", path).returncode == 0
        spoil()
        for args in (["check-config", "--config", path], ["--config", path]):
            result = run_parleyd(*args)
            assert result.returncode == 78, (args, result.stderr)
            assert message in result.stderr, result.stderr
            assert fix in result.stderr
            assert "elsewhere.example" not in result.stdout + result.stderr  # not read, not used
    os.chmod(tmp_path, 0o755)


def test_a_secret_file_another_user_owns_is_refused(tmp_path):
    key = tmp_path / "openai.key"
    key.write_text(SECRET)
    key.chmod(0o600)
    os.chown(key, NOBODY, 0)
    path = write(tmp_path, f'[backend]\nkind = "openai"\n[backend.openai]\napi_key_file = "{key}"\n')
    result = run_parleyd("check-config", "--config", path)
    assert result.returncode == 78
    assert f"{path}:4: backend.openai.api_key_file: owned by neither root nor the daemon's user" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_missing_config_file_named_on_the_command_line(tmp_path):
    result = run_parleyd("check-config", "--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 78
    assert "absent.toml: cannot read" in result.stderr


def test_version():
    result = run_parleyd("--version")
    assert result.returncode == 0
    assert result.stdout.strip().count(".") == 2


def test_a_config_error_reaches_the_journal_at_err_priority(tmp_path):
    """Regression: a config error at start went to the journal at info (6), so
    `journalctl -u parleyd -p warning` showed only systemd's "Failed with result 'exit-code'".
    With stderr the stream JOURNAL_STREAM names (as under systemd), every line is <3>."""
    path = write(tmp_path, '[audio]\nrate = "high"\n')
    read, write_end = os.pipe()
    st = os.fstat(write_end)
    proc = subprocess.Popen([PARLEYD, "--config", path], stderr=write_end, stdout=subprocess.DEVNULL,
                            env={"PATH": os.environ["PATH"], "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    os.close(write_end)
    assert proc.wait(timeout=10) == 78
    with os.fdopen(read) as f:
        lines = f.read().splitlines()
    assert lines and all(line.startswith("<3>") for line in lines), lines
    assert any("audio.rate: expected integer" in line for line in lines)


def test_instructions_too_large_for_the_data_channel_stop_check_config_and_the_daemon(tmp_path):
    """Regression: instructions over the WebRTC data channel's 64 KiB passed check-config, then
    the daemon redialled forever (the session.update could never be sent)."""
    key = tmp_path / "openai.key"
    key.write_text(SECRET)
    key.chmod(0o600)
    long = "Answer briefly. " * 4200  # 67,200 bytes
    path = write(tmp_path, f'[backend]\nkind = "openai_webrtc"\n[backend.openai]\napi_key_file = "{key}"\n'
                           f'instructions = "{long}"\n')
    for args in (["check-config", "--config", path], ["--config", path]):
        result = run_parleyd(*args)
        assert result.returncode == 78, (args, result.stderr[-500:])
        assert "over the WebRTC data channel's 65536; shorten the instructions" in result.stderr
    # The same instructions over the WebSocket backend have no such limit.
    path = write(tmp_path, f'[backend]\nkind = "openai"\n[backend.openai]\napi_key_file = "{key}"\n'
                           f'instructions = "{long}"\n')
    assert run_parleyd("check-config", "--config", path).returncode == 0
