"""SIGHUP reload and the log formats, through the real binary."""
import json
import signal
import time

from conftest import BASE_CONFIG


def test_sighup_applies_live_keys_and_names_the_rest(daemon, tmp_path):
    d = daemon(dropins={"50-site.toml": "[ptt]\nmode = \"hold\"\n"}).start()
    d.notify.wait_for("READY=1")
    (tmp_path / "conf.d" / "50-site.toml").write_text(
        '[ptt]\nmode = "toggle"\n[logging]\nlevel = "debug"\n[audio]\nrate = 16000\n')
    before = time.monotonic()
    d.signal(signal.SIGHUP)
    d.wait_log("reload applied: logging.level, ptt.mode")
    d.wait_log("changes that take effect after a restart: audio.rate")
    # STATUS= lines of the startup may still arrive: look at the lifecycle messages only.
    messages = [m for m in d.notify.since(before) if m.startswith(("RELOADING=1", "READY=1"))]
    assert messages[0].startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert any(m.startswith("READY=1") for m in messages[1:])

    # A broken file is rejected whole; the daemon keeps running on what it had.
    (tmp_path / "conf.d" / "50-site.toml").write_text('[ptt]\nmode = "walkie"\n')
    d.signal(signal.SIGHUP)
    d.wait_log("reload rejected, keeping the running configuration")
    assert 'ptt.mode: "walkie" is not one of the choices' in d.log
    time.sleep(0.2)
    assert d.proc.poll() is None
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_journal_format_has_priority_prefixes(daemon):
    d = daemon(config=BASE_CONFIG + '\n[logging]\nformat = "journal"\n').start()
    d.wait_log("<5>parleyd: ready")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    lines = [l for l in d.log.splitlines() if l]
    assert lines and all(l.startswith("<") and l[1].isdigit() and l[2] == ">" for l in lines), lines


def test_json_format_is_one_object_per_line(daemon):
    d = daemon(config=BASE_CONFIG + '\n[logging]\nformat = "json"\n').start()
    d.wait_log('"msg":"ready"')
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    records = [json.loads(l) for l in d.log.splitlines() if l]
    assert {"ts", "level", "label", "msg"} <= set(records[0])
    assert any(r["msg"].startswith("state: link=connected") for r in records)
