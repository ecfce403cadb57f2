"""provisioning.apply_ms: the release parleyd pulling from the fake fleet (HTTPS, a test CA,
files signed by the openssl CLI) every 5 s; for each new version published, from the server
answering the device's pull with it (304 until then) to the device's report that it applied
it — verify, validate with the local files, swap in, reload, report. Prints JSON."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import percentiles  # noqa: E402
from fake_fleet import FakeFleet, FleetKey  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "bench-device"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", default=str(ROOT / ".build/release/parleyd"))
    parser.add_argument("--versions", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parley-bench-provisioning-"))
    (work / "fleet").mkdir()
    (work / "state").mkdir(mode=0o700)
    fleet = FakeFleet(work / "fleet", FleetKey(work / "fleet"))
    fleet.publish(f"{DEVICE}.toml", "[audio]\nvolume = 10\n")
    fleet.start()
    config = (ROOT / "board/sim/50-board.toml").read_text() + f'\n[control]\nsocket = "{work / "c.sock"}"\n'
    config += (f'\n[device]\nid = "{DEVICE}"\n[provisioning]\nurl = "{fleet.url}"\npublic_key = "{fleet.key.public}"\n'
               f'ca_file = "{fleet.ca}"\ninterval_s = 5\n')
    (work / "parley.toml").write_text(config)
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{ROOT}/board/sim/asound.conf",
               PARLEY_SIM_MIC="/dev/zero", PARLEY_SIM_SPEAKER=str(work / "speaker.wav"), STATE_DIRECTORY=str(work / "state"))
    env.pop("NOTIFY_SOCKET", None)
    daemon = subprocess.Popen([args.parleyd, "--config", str(work / "parley.toml")], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(work / "parleyd.log", "w"))
    applied = []
    try:
        def reported(volume, timeout=20):
            """When the device reported it applied `volume`."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for report in list(fleet.reports):
                    if report["provisioning"]["result"] in ("applying", "applied") and \
                            report["status"]["audio"]["volumePercent"] == volume:
                        return report["_received"]
                time.sleep(0.001)
            raise TimeoutError(f"volume {volume} never reported applied")
        reported(10)
        for i in range(args.versions):
            volume = 20 + i
            fleet.publish(f"{DEVICE}.toml", f"[audio]\nvolume = {volume}\n")
            done = reported(volume)
            applied.append(done - fleet.last_served[f"{DEVICE}.toml"])  # seconds: percentiles() gives ms
        print(json.dumps({"provisioning": {"apply_ms": percentiles(applied), "versions": len(applied)}},
                         indent=2, sort_keys=True))
    finally:
        daemon.terminate()
        daemon.wait(10)


if __name__ == "__main__":
    main()
