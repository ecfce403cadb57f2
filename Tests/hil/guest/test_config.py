"""check-config against the real gpio-sim chip: board/README.md says it names what is missing."""
import os
import subprocess

from conftest import hil_config


def check(tmp_path, extra=""):
    (tmp_path / "parley.toml").write_text(hil_config(tmp_path, extra))
    return subprocess.run([os.environ["PARLEYD"], "check-config", "--config", str(tmp_path / "parley.toml")],
                          capture_output=True, text=True, timeout=30)


def test_check_config_looks_up_the_gpio_chip_and_lines_it_will_claim(tmp_path, gpio):
    ok = check(tmp_path)
    assert ok.returncode == 0, ok.stderr
    # A line the chip does not have: the daemon would stop on it (board.required), so does check-config.
    config = hil_config(tmp_path).replace('ptt_line = "ptt"', 'ptt_line = "ptt_typo"')
    (tmp_path / "parley.toml").write_text(config)
    result = subprocess.run([os.environ["PARLEYD"], "check-config", "--config", str(tmp_path / "parley.toml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 78, result.stderr
    assert 'GPIO line "ptt_typo" for the ptt button not found on' in result.stderr
    assert "gpioinfo" in result.stderr
    # Not required: the same is a note, and the config passes.
    (tmp_path / "parley.toml").write_text(config.replace('kind = "gpio"', 'kind = "gpio"\nrequired = false'))
    result = subprocess.run([os.environ["PARLEYD"], "check-config", "--config", str(tmp_path / "parley.toml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "note: the daemon runs without these" in result.stderr
