#!/usr/bin/env bash
# make bench: runs the benchmarks and writes bench/results.json (other keys there are kept).
#   audio.allocs_per_frame        heap allocations per 10 ms frame of the capture chain
#                                 (package-benchmark's malloc count, 3 s minus 1 s iterations / 200 frames)
#   audio.dsp_cpu_percent_of_core CPU time per second of audio, Swift CaptureProcessor (median of 5)
#   audio.dsp_cpu_c_percent_of_core the same speexdsp calls from plain C (Benchmarks/c/chain.c)
#   audio.dsp_cpu_ratio_vs_c      Swift / C
#   audio.erle_db, audio.erle_aec_only_db, audio.near_end_kept_correlation  from the echo test
#   aec.*                         the echo scenarios (Tests/ParleyAudioTests/EchoRig.swift: drift,
#                                 misalignment, AGC through the real CaptureProcessor; docs/AUDIO.md
#                                 defines each measure)
#   hil.*                         the same turns on a real kernel path: the HIL VM's snd-aloop card
#                                 and gpio-sim chip, 60 turns (Tests/hil/guest/test_latency.py)
#   hil.systemd.*                 the .deb under systemd in the VM (Tests/hil/systemd): READY after
#                                 boot, restart after kill -9, watchdog restart, stop (p50 of 5 each)
#   latency.*, memory.*           parleyd (release, as the package ships it) against the fake Realtime server, 60 turns,
#                                 and 60 bursts into a FIFO microphone for mic_to_wire_ms
#                                 (Tests/integration/bench_latency.py says what each figure spans)
#   cpu.idle_percent_of_core, latency.ptt_press_to_led_ms  the whole parleyd (release) on the
#                                 `make run` default, connected and idle for 60 s, then 60 presses
#                                 (Tests/integration/bench_idle.py); cpu.idle_ratio_vs_c divides the
#                                 idle figure by audio.dsp_cpu_c_percent_of_core
#   startup.ready_ms              exec → READY=1, 20 starts on the sim profile (Tests/integration/bench_startup.py;
#                                 run with the idle section)
#   soak.*                        1,000 turns with random faults (Tests/integration/test_soak.py):
#                                 fd/thread/RSS growth after the warm-up, secrets found in the log
#   faults.scenarios, faults.survived  the fault-injection scenarios (test_faults.py and the
#                                 audio device loss) run against the release parleyd, and how many passed
#   webrtc.*                      a WebRTC call (release parleyd, GStreamer webrtcbin) against the
#                                 aiortc peer, 100 connect/teardown cycles after 20 warm-up ones
#                                 (Tests/integration/test_webrtc.py): offer_to_datachannel_open_ms
#                                 spans building the offer to the data channel open; first_call_ms is the
#                                 same span for the call dialled at start; fd/thread/RSS
#   fuzz.* come from `make fuzz` (scripts/fuzz.sh), not from here
#   package.binaries_mb, package.deb_mb, package.installed_size_mb  `make deb`: what the parley
#                                 package installs in /usr/bin (stripped; parleyctl is a link), the
#                                 .deb, and its Installed-Size; package.webrtc_* the same of parley-webrtc
#   package.recommends_closure    packages apt adds to a minbase bookworm to install parley with its
#                                 Recommends (scripts/recommends-closure.sh); *_webrtc with parley-webrtc too
#   provisioning.apply_ms         a new signed version on the fake fleet server to the device's report
#                                 that it applied it (Tests/integration/bench_provisioning.py), 20 versions
# BENCH_SECTIONS picks sections (default all: audio latency idle provisioning hil faults soak webrtc package); the keys
# of the sections not run stay as they are in bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

sections=" ${BENCH_SECTIONS:-audio latency idle provisioning hil faults soak webrtc package} "
want() { [[ "$sections" == *" $1 "* ]]; }

if want audio; then
  echo "bench: building"
  (cd Benchmarks && swift build -c release -Xswiftc -Osize --product CaptureChainCPU >/dev/null)  # as shipped
  gcc -O2 -o "$out/chain" Benchmarks/c/chain.c $(pkg-config --cflags --libs speexdsp) -lm

  echo "bench: CPU, Swift vs C (5 runs each of 100 s of audio)"
  for i in 1 2 3 4 5; do
    Benchmarks/.build/release/CaptureChainCPU 100 >> "$out/swift.jsonl"
    "$out/chain" 100 >> "$out/c.jsonl"
  done

  echo "bench: allocations (package-benchmark)"
  (cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --no-progress \
     --filter "capture chain.*" --format jsonSmallerIsBetter --path "$out" >/dev/null)

  echo "bench: echo cancellation quality (echo test)"
  swift build --build-tests >/dev/null
  swift test --skip-build --no-parallel --filter CaptureChainTests 2>&1 | grep -E "^(ERLE|near-end)" > "$out/erle.txt"
  echo "bench: echo scenarios (drift, misalignment, AGC)"
  swift test --skip-build --no-parallel --filter EchoScenarioTests 2>&1 | grep -E "^AEC (scenario|live deviation)" > "$out/aec.txt"
fi

# The daemons as the packages ship them (scripts/shipped.sh): parleyd for everything but the
# WebRTC calls, which run parleyd-webrtc's build.
. scripts/shipped.sh
shipped=$(shipped_build plain)
shipped_webrtc=$(shipped_build webrtc)
swift build --product parleyctl >/dev/null
common_env="PARLEYCTL=$PWD/.build/debug/parleyctl SIM_ALSA=/usr/share/alsa/alsa.conf:$PWD/board/sim/asound.conf"
release_env="PARLEYD=$PWD/$shipped $common_env"
webrtc_env="PARLEYD=$PWD/$shipped_webrtc $common_env"

if want latency; then
  echo "bench: conversation latency (60 push-to-talk turns with barge-in, release parleyd)"
  .venv/bin/python Tests/integration/bench_latency.py --parleyd $shipped --turns 60 > "$out/latency.json"
fi

if want idle; then
  echo "bench: the idle daemon's CPU (60 s) and press to LED (60 presses), release parleyd"
  .venv/bin/python Tests/integration/bench_idle.py --parleyd $shipped --seconds 60 --presses 60 > "$out/idle.json"
  echo "bench: exec to READY (20 starts on the sim profile, release parleyd)"
  .venv/bin/python Tests/integration/bench_startup.py --parleyd $shipped --starts 20 > "$out/startup.json"
fi

if want provisioning; then
  echo "bench: provisioning, a new version to its applied report (20 versions, release parleyd)"
  .venv/bin/python Tests/integration/bench_provisioning.py --parleyd $shipped --versions 20 > "$out/provisioning.json"
fi

if want hil; then
  echo "bench: hardware-in-the-loop latency (60 turns in the VM), then the package under systemd in it (5 boots)"
  debs=$(./scripts/deb.sh)
  hil_deb=${debs%%$'\n'*}  # parley's, not parley-webrtc's
  .venv/bin/python Tests/hil/host.py --turns 60 --parleyd $shipped --deb "$hil_deb" --boots 5 --results "$out/hil.json"
fi

if want faults; then
  echo "bench: fault injection (release parleyd)"
  env $release_env .venv/bin/python -m pytest -q -p no:cacheprovider --junitxml="$out/faults.xml" \
    Tests/integration/test_faults.py Tests/integration/test_audio_device_loss.py || true  # counted, not fatal
fi

if want soak; then
  echo "bench: soak (1,000 turns with random faults, release parleyd)"
  env $release_env SOAK_TURNS=1000 SOAK_RESULTS="$out/soak.json" .venv/bin/python -m pytest -q -s \
    -p no:cacheprovider Tests/integration/test_soak.py | grep -E "^soak:|passed|failed" || true  # figures kept either way
fi

if want webrtc; then
  echo "bench: WebRTC call setup (100 connect/teardown cycles, release parleyd)"
  env $webrtc_env WEBRTC_CYCLES=100 WEBRTC_RESULTS="$out/webrtc.json" .venv/bin/python -m pytest -q -s \
    -p no:cacheprovider Tests/integration/test_webrtc.py -k cycles | grep -E "^webrtc:|passed|failed" || true
fi

if want package; then
  echo "bench: package sizes (make deb) and what apt pulls with them"
  debs=$(./scripts/deb.sh)
  closure=$(./scripts/recommends-closure.sh $debs)
  python3 - $debs "$closure" > "$out/package.json" <<'PY'
import json, os, re, sys
deb, webrtc_deb, closure = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def installed(stage):
    control = open(os.path.join(stage, "DEBIAN/control")).read()
    return round(int(re.search(r"^Installed-Size: (\d+)", control, re.M).group(1)) / 1024, 1)
bin_dir = "build/deb-root/usr/bin"
binaries = sum(os.path.getsize(os.path.join(bin_dir, f)) for f in os.listdir(bin_dir)
               if not os.path.islink(os.path.join(bin_dir, f)))
mb = lambda path: round(os.path.getsize(path) / 2**20, 1)
print(json.dumps({"package": {"binaries_mb": round(binaries / 2**20, 1), "deb_mb": mb(deb),
                              "installed_size_mb": installed("build/deb-root"),
                              "webrtc_deb_mb": mb(webrtc_deb), "webrtc_installed_size_mb": installed("build/deb-root-webrtc"),
                              **closure}}))
PY
fi

mkdir -p bench
python3 - "$out" <<'PY'
import json, math, os, re, statistics, sys
import xml.etree.ElementTree as ET
out = sys.argv[1]
def have(name):
    return os.path.exists(os.path.join(out, name))
def load(name):
    return json.load(open(os.path.join(out, name)))
path = "bench/results.json"
results = json.load(open(path)) if os.path.exists(path) else {}

if have("swift.jsonl"):  # the audio section
    def median_cpu(name):
        return statistics.median(json.loads(l)["cpu_percent_of_core"] for l in open(os.path.join(out, name)))
    swift, c = median_cpu("swift.jsonl"), median_cpu("c.jsonl")
    mallocs = {}
    for row in load("Current_run.json"):
        m = re.match(r"capture chain: (\d) s of 48 kHz audio - Malloc \(total\)", row["name"])
        if m: mallocs[int(m.group(1))] = row["value"]
    erle = open(os.path.join(out, "erle.txt")).read()
    def grab(pattern):
        return round(float(re.search(pattern, erle).group(1)), 2)
    results.setdefault("audio", {}).update({
        "allocs_per_frame": (mallocs[3] - mallocs[1]) / 200,
        "dsp_cpu_percent_of_core": round(swift, 4),
        "dsp_cpu_c_percent_of_core": round(c, 4),
        "dsp_cpu_ratio_vs_c": round(swift / c, 3),
        "erle_aec_only_db": grab(r"ERLE, AEC only, after convergence: ([\d.]+)"),
        "erle_db": grab(r"ERLE, full chain: ([\d.]+)"),
        "near_end_kept_correlation": grab(r"near-end correlation in double talk: ([\d.]+)"),
    })
    scenarios, reconvergence, without_echo, mask_bound, live_deviation = {}, {}, {}, {}, []
    speaker_limit_error = None
    for line in open(os.path.join(out, "aec.txt")):
        m = re.match(r"AEC scenario (\S+): erle ([-\d.]+) dB, double-talk SDR ([-\d.]+) dB, convergence ([\d.]+) s, "
                     r"resampler [-\d.]+ ppm, drift estimate ([-\d.na]+) ppm", line)
        if m: scenarios[m.group(1)] = [float(m.group(i)) for i in (2, 3, 4, 5)]
        r = re.search(r"reconvergence ([\d.]+) s", line)
        if m and r: reconvergence[m.group(1)] = float(r.group(1))
        q = re.search(r"double-talk SDR without echo ([-\d.]+) dB", line)
        if m and q: without_echo[m.group(1)] = float(q.group(1))
        b = re.search(r"double-talk SDR bound of a per-bin gain ([-\d.]+) dB", line)
        if m and b: mask_bound[m.group(1)] = float(b.group(1))
        c = re.search(r"speaker limit (\d+)", line)
        if m and c and m.group(1) == "van_speaker_clipping":  # the speaker's curve found, against the rig's (8000)
            speaker_limit_error = round(abs(20 * math.log10(int(c.group(1)) / 8000)), 2)
        d = re.match(r"AEC live deviation \S+: clear ([\d.]+) dB, after double talk ([\d.]+) dB", line)
        if d: live_deviation.append((float(d.group(1)), float(d.group(2))))
    drifts = {name: float(name[6:-3].replace("minus_", "-")) for name in scenarios if name.startswith("drift_")}
    results["aec"] = {
        "erle_stable_db": round(scenarios["stable"][0], 2),
        "erle_drift_100ppm_db": round(scenarios["drift_100ppm"][0], 2),
        "erle_drift_minus_100ppm_db": round(scenarios["drift_minus_100ppm"][0], 2),
        "erle_drift_200ppm_db": round(scenarios["drift_200ppm"][0], 2),
        "erle_drift_minus_200ppm_db": round(scenarios["drift_minus_200ppm"][0], 2),
        "erle_misaligned_plus_50ms_db": round(scenarios["misaligned_plus_50ms"][0], 2),
        "erle_misaligned_plus_50ms_without_probe_db": round(scenarios["misaligned_plus_50ms_no_probe"][0], 2),
        "erle_with_agc_db": round(scenarios["agc"][0], 2),
        "near_end_sdr_double_talk_db": round(scenarios["stable"][1], 2),
        "convergence_20db_s": scenarios["stable"][2],
        # the clock drift estimate after 10 s of far-end audio, worst scenario
        "drift_estimate_error_pct": round(max(abs(scenarios[n][3] - true) / abs(true) * 100
                                              for n, true in drifts.items()), 2),
    }
    for name, figures in scenarios.items():  # double talk in every scenario
        results["aec"][f"near_end_sdr_{name}_db"] = round(figures[1], 2)
        if name.startswith(("van_", "extra_delay_", "device_", "misaligned_plus_50ms_unaligned")):
            results["aec"][f"erle_{name}_db"] = round(figures[0], 2)
    if speaker_limit_error is not None:
        results["aec"]["speaker_curve_limit_error_db"] = speaker_limit_error
    for name, seconds in reconvergence.items():  # an echo path that changed mid-answer
        results["aec"][f"reconvergence_20db_{name}_s"] = seconds
    for name, sdr in without_echo.items():  # the talker against the noise alone (shadow run)
        results["aec"][f"near_end_sdr_{name}_without_echo_db"] = round(sdr, 2)
    for name, sdr in mask_bound.items():  # the best a per-bin gain could do (MaskBound, an oracle)
        results["aec"][f"near_end_sdr_{name}_mask_bound_db"] = round(sdr, 2)
    if live_deviation:  # the live measure against the rig's offline ERLE over the same span, worst scenario
        results["aec"]["live_erle_deviation_db"] = round(max(c for c, _ in live_deviation), 2)
        results["aec"]["live_erle_deviation_after_double_talk_db"] = round(max(a for _, a in live_deviation), 2)
for name in ("latency.json", "idle.json", "startup.json", "provisioning.json", "hil.json", "soak.json", "webrtc.json", "package.json"):
    if have(name):
        for key, value in load(name).items():  # sections share top-level keys (latency.*)
            if isinstance(value, dict) and isinstance(results.get(key), dict):
                results[key].update(value)
            else:
                results[key] = value
if have("idle.json") and "dsp_cpu_c_percent_of_core" in results.get("audio", {}):
    results["cpu"]["idle_ratio_vs_c"] = round(results["cpu"]["idle_percent_of_core"]
                                              / results["audio"]["dsp_cpu_c_percent_of_core"], 3)
if have("faults.xml"):
    suite = ET.parse(os.path.join(out, "faults.xml")).getroot().find("testsuite")
    scenarios = int(suite.get("tests"))
    results["faults"] = {"scenarios": scenarios,
                         "survived": scenarios - int(suite.get("failures")) - int(suite.get("errors"))}
json.dump(results, open(path, "w"), indent=2, sort_keys=True)
open(path, "a").write("\n")
print(json.dumps(results, indent=2, sort_keys=True))
PY
