#!/usr/bin/env bash
# make fuzz: every parser fed by the network or the operator under libFuzzer with
# AddressSanitizer, FUZZ_SECONDS each (default 60), from the seed corpora in Fuzz/corpus
# (recorded from the fakes: make fuzz-seeds). A crashing input is written to
# Fuzz/crashers/<target>/ — commit it with the fix: FuzzCorpusTests replays it in make test.
# Writes fuzz.executions, fuzz.crashes and fuzz.targets to bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"realtime sse engineio relay_json config control sdp"}

echo "fuzz: building (libFuzzer + AddressSanitizer)"
(cd Fuzz && swift build -c debug -Xswiftc -sanitize=fuzzer,address >/dev/null)
binary=Fuzz/.build/debug/ParleyFuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in $targets; do
  mkdir -p "$work/$target" "Fuzz/crashers/$target"
  before=$(ls "Fuzz/crashers/$target" | wc -l)
  echo "fuzz: $target for ${seconds}s"
  extra=() leaks=1
  # TOMLKit 0.6.0 leaks about 1 KB per parse (its C++ strings and key lists are never freed;
  # found here, LeakSanitizer stacks in TOMLTable.swift:221, Node.cpp:200, Table.cpp:154).
  # Not ours to fix; with leak checks on, the config target stops after its first input.
  if [ "$target" = config ]; then extra=(-detect_leaks=0); leaks=0; fi
  # New inputs go to the scratch corpus; the committed seeds are read, not grown.
  ASAN_OPTIONS=detect_leaks=$leaks PARLEY_FUZZ_TARGET=$target "$binary" "$work/$target" "Fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="Fuzz/crashers/$target/" "${extra[@]}" > "$work/$target.log" 2>&1 || true
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -1)
  after=$(ls "Fuzz/crashers/$target" | wc -l)
  echo "{\"target\": \"$target\", \"executions\": ${runs:-0}, \"crashes\": $((after - before)), \"seconds\": $seconds}" >> "$work/stats.jsonl"
  echo "fuzz: $target: ${runs:-0} executions, $((after - before)) new crashers"
  if [ "$after" -gt "$before" ]; then grep -E "ERROR|Fatal|panic|SUMMARY" "$work/$target.log" | head -5; fi
done

mkdir -p bench
python3 - "$work/stats.jsonl" <<'PY'
import json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
path = "bench/results.json"
results = json.load(open(path)) if os.path.exists(path) else {}
results["fuzz"] = {
    "executions": sum(r["executions"] for r in rows),
    "crashes": sum(r["crashes"] for r in rows),
    "seconds_per_target": rows[0]["seconds"],
    "targets": {r["target"]: r["executions"] for r in rows},
}
json.dump(results, open(path, "w"), indent=2, sort_keys=True)
open(path, "a").write("\n")
print(json.dumps(results["fuzz"], indent=2, sort_keys=True))
PY
