"""The .deb on a clean Debian: installed with apt into a throwaway bookworm root
(debootstrap minbase, so the maintainer scripts run in a chroot against a real dpkg
database), then checked from the installed paths — the daemon's check-config with every
board profile, the user and its groups, the service enabled but not started, the unit's
hardening, conffiles kept on reinstall, and everything gone on purge."""
import ctypes
import glob
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "bookworm-minbase.tar"
MIRROR = "http://deb.debian.org/debian"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, chroot)")


def run(*args, check=True, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def built(name):
    debs = sorted(glob.glob(str(REPO / "build" / f"{name}_*.deb")))
    assert debs, f"no build/{name}_*.deb: run `make deb` first (make test-package does)"
    return Path(debs[-1])


@pytest.fixture(scope="module")
def package():
    return built("parley")


@pytest.fixture(scope="module")
def webrtc_package():
    return built("parley-webrtc")


@pytest.fixture(scope="module")
def root(tmp_path_factory, package, webrtc_package):
    """A bookworm root with the package installed by apt (dependencies from the archive)."""
    root = tmp_path_factory.mktemp("debian-root")
    if not CACHE.exists():
        fresh = tmp_path_factory.mktemp("bootstrap")
        run("debootstrap", "--variant=minbase", "bookworm", fresh, MIRROR, timeout=900)
        run("tar", "-C", fresh, "-cf", CACHE, ".")
        shutil.rmtree(fresh)
    run("tar", "-C", root, "-xf", CACHE)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    shutil.copy(package, root / "tmp" / "parley.deb")
    shutil.copy(webrtc_package, root / "tmp" / "parley-webrtc.deb")
    # A device has /proc; the Swift runtime reads its arguments from /proc/self/cmdline.
    run("mount", "-t", "proc", "proc", root / "proc")
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        run("chroot", root, "apt-get", "update", "-qq", env=env, timeout=600)
        run("chroot", root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "/tmp/parley.deb",
            env=env, timeout=900)
        yield root
    finally:
        run("umount", root / "proc", check=False)


def chroot(root, *args, check=True):
    return run("chroot", root, *args, check=check, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"})


def test_the_installed_daemon_checks_its_default_config_and_every_board_profile(root):
    result = chroot(root, "parleyd", "check-config")
    assert 'kind = "echo"' in result.stdout
    chroot(root, "parleyctl", "--help")  # the Swift runtime is inside the binaries
    for profile in ["respeaker-2mic", "usb-speakerphone"]:
        dropin = root / "etc/parley/conf.d/50-board.toml"
        shutil.copy(root / f"usr/share/parley/board/{profile}/50-board.toml", dropin)
        result = chroot(root, "parleyd", "check-config")
        assert 'kind = "gpio"' in result.stdout, profile
        dropin.unlink()
    assert (root / "usr/share/doc/parley/OPERATIONS.md").exists()
    assert (root / "lib/udev/rules.d/61-parley-audio.rules").exists()


def test_one_binary_serves_both_commands(root):
    # parleyctl is a link to parleyd, which runs parleyctl when called by that name.
    binaries = root / "usr/bin"
    assert os.readlink(binaries / "parleyctl") == "parleyd"
    assert chroot(root, "parleyctl", "--version").stdout == chroot(root, "parleyd", "--version").stdout
    assert "cannot reach parleyd at /nowhere" in chroot(root, "parleyctl", "--socket", "/nowhere", "status", check=False).stderr
    # Both were 133 MB, full Foundation and ICU in each; one binary on FoundationEssentials,
    # without WebRTC, built for size (docs/ARCHITECTURE.md, Known costs).
    assert (binaries / "parleyd").stat().st_size <= 25 * 2**20


def test_the_package_is_small_enough_for_a_cellular_fleet(package, webrtc_package):
    assert package.stat().st_size <= 10 * 2**20
    control = run("dpkg-deb", "--field", package, "Recommends", "Suggests").stdout
    assert "gstreamer" not in control and "parley-webrtc" in control, control


def test_apt_pulls_no_desktop_packages_onto_a_headless_device(package, webrtc_package):
    # With Recommends (apt's default), parley and parley-webrtc on a minbase bookworm.
    closure = json.loads(run(REPO / "scripts/recommends-closure.sh", package, webrtc_package, timeout=900).stdout)
    assert closure["recommends_desktop"] == [], closure


def refuse_writable_executable_memory():
    """What MemoryDenyWriteExecute=yes asks of the kernel (PR_SET_MDWE, inherited by exec)."""
    PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


def test_the_installed_daemon_runs_a_turn_on_the_sim_board_without_writable_executable_memory(root):
    # The sim profile as board/README.md installs it for the service: its drop-in in conf.d,
    # the environment from its systemd drop-in, the socket where RuntimeDirectory puts it.
    shutil.copy(root / "usr/share/parley/board/sim/50-board.toml", root / "etc/parley/conf.d/50-board.toml")
    dropin = (root / "usr/share/parley/board/sim/service.conf").read_text()
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update(line.removeprefix("Environment=").split("=", 1) for line in dropin.splitlines()
               if line.startswith("Environment="))
    assert set(env) == {"PATH", "ALSA_CONFIG_PATH", "PARLEY_SIM_MIC", "PARLEY_SIM_SPEAKER"}, env
    for directory in ["run/parley", "var/lib/parley"]:
        (root / directory).mkdir(parents=True, exist_ok=True)
    daemon = subprocess.Popen(["chroot", str(root), "parleyd"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, preexec_fn=refuse_writable_executable_memory)
    try:
        deadline = time.monotonic() + 20
        status = ""
        while time.monotonic() < deadline and "ready" not in status:
            time.sleep(0.2)
            status = run("chroot", root, "parleyctl", "status", check=False, env=env).stdout
        assert "ready" in status, status
        # No WebRTC configured: no GStreamer (nor GLib) in the process (chroot execs parleyd);
        # nothing spoken or fetched yet: no libespeak-ng, libcurl or libcrypto either (CParleyLazy).
        maps = Path(f"/proc/{daemon.pid}/maps").read_text()
        for library in ["libgst", "libglib", "libespeak-ng", "libcurl", "libcrypto", "libpulse"]:
            assert library not in maps, library
        run("chroot", root, "parleyctl", "say", "hello from the package", env=env)
        time.sleep(1.5)  # the echo backend says it back
        assert "hello from the package" in run("chroot", root, "parleyctl", "status", env=env).stdout
        assert (root / "run/parley/control.sock").is_socket()
        assert (root / "var/lib/parley/speaker.wav").stat().st_size > 44
        # Spoken: libespeak-ng was opened at the first say (the package depends on it).
        assert "libespeak-ng" in Path(f"/proc/{daemon.pid}/maps").read_text()
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=20)[0]
        (root / "etc/parley/conf.d/50-board.toml").unlink()
    assert daemon.returncode == 0, output


def test_a_webrtc_backend_needs_parley_webrtc_and_is_handed_over_to_it(root):
    dropin = root / "etc/parley/conf.d/60-office.toml"
    dropin.write_text('[backend]\nkind = "office"\n[backend.office]\nbase_url = "http://127.0.0.1:9"\n')
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    try:
        refused = chroot(root, "parleyd", "check-config", check=False)
        assert refused.returncode == 78 and "apt install parley-webrtc" in refused.stderr, refused.stderr
        chroot(root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "/tmp/parley-webrtc.deb")
        assert 'kind = "office"' in chroot(root, "parleyd", "check-config").stdout
        (root / "run/parley").mkdir(parents=True, exist_ok=True)
        daemon = subprocess.Popen(["chroot", str(root), "parleyd"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (root / "run/parley/control.sock").exists():
                time.sleep(0.1)
            # The same process, now the WebRTC daemon (paths as this machine sees the root).
            assert os.readlink(f"/proc/{daemon.pid}/exe") == str(root / "usr/lib/parley/parleyd-webrtc")
            assert "libgst" in Path(f"/proc/{daemon.pid}/maps").read_text()
        finally:
            daemon.send_signal(signal.SIGTERM)
            output = daemon.communicate(timeout=20)[0]
        assert daemon.returncode == 0, output
    finally:
        dropin.unlink()


def test_the_service_user_is_created_and_the_service_enabled_not_started(root):
    groups = chroot(root, "id", "-nG", "parley").stdout.split()
    assert {"parley", "audio", "gpio"} <= set(groups)
    wants = root / "etc/systemd/system/multi-user.target.wants/parleyd.service"
    assert wants.is_symlink() and os.readlink(wants) == "/lib/systemd/system/parleyd.service"
    config_dir = os.stat(root / "etc/parley")
    assert oct(config_dir.st_mode & 0o777) == "0o750"
    assert chroot(root, "stat", "-c", "%U:%G", "/etc/parley").stdout.strip() == "root:parley"


def test_the_installed_unit_verifies_and_its_exposure_is_at_most_2(root, tmp_path):
    unit = root / "lib/systemd/system/parleyd.service"
    assert "ExecStart=/usr/bin/parleyd" in unit.read_text()
    # verify needs the executable on this machine's paths: the installed one, by its root path.
    copy = tmp_path / "parleyd.service"
    copy.write_text(unit.read_text().replace("ExecStart=/usr/bin/parleyd", f"ExecStart={root}/usr/bin/parleyd"))
    # With the sim profile's drop-in beside it, as board/README.md installs it.
    (tmp_path / "parleyd.service.d").mkdir()
    shutil.copy(root / "usr/share/parley/board/sim/service.conf", tmp_path / "parleyd.service.d/50-sim.conf")
    verify = run("systemd-analyze", "verify", copy, check=False)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    security = run("systemd-analyze", "security", "--offline=true", "--no-pager", unit, check=False)
    line = next(l for l in security.stdout.splitlines() if "Overall exposure level" in l)
    exposure = float(line.split(":")[1].split()[0])
    assert exposure <= 2.0, security.stdout


def test_an_edited_config_survives_a_reinstall_and_purge_removes_everything(root):
    config = root / "etc/parley/parley.toml"
    config.write_text(config.read_text() + '\n[device]\nsite = "depot-7"\n')
    chroot(root, "dpkg", "-i", "--force-confold", "/tmp/parley.deb")
    assert 'site = "depot-7"' in config.read_text()
    (root / "var/lib/parley").mkdir(exist_ok=True)
    (root / "var/lib/parley/transcripts.db").write_text("queue")
    chroot(root, "apt-get", "purge", "-y", "-qq", "parley")
    assert not (root / "usr/bin/parleyd").exists() and not (root / "usr/lib/parley").exists()  # parley-webrtc too
    assert not (root / "etc/parley").exists() and not (root / "var/lib/parley").exists()
    assert chroot(root, "getent", "passwd", "parley", check=False).returncode == 2
    assert not (root / "etc/systemd/system/multi-user.target.wants/parleyd.service").exists()
