#!/usr/bin/env bash
# make code-order: regenerates packaging/parleyd.order, the functions parleyd runs on its
# common paths (scripts/code-order.py says which), found with valgrind's callgrind. The
# shipped builds (scripts/shipped.sh) give each function its own section and have the linker
# place these together: the pages of code a device touches are fewer (memory.rss_file_mb).
# A function renamed since is only left where it falls; rerun after large changes. Needs
# valgrind (apt install valgrind) and the test venv (the fake Realtime server).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
command -v valgrind >/dev/null || { echo "code-order: needs valgrind (apt install valgrind)" >&2; exit 1; }
. scripts/shipped.sh
bin=$(shipped_build plain)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strip --strip-debug -o "$work/parleyd" "$bin"   # valgrind 3.19 cannot read DWARF 5; the symbols stay
ln -s parleyd "$work/parleyctl"
for name in parleyd parleyctl; do
  printf '#!/bin/sh\nexec valgrind -q --tool=callgrind --callgrind-out-file=%s/callgrind.%%p --dump-instr=no --demangle=no --fair-sched=yes %s/%s "$@"\n' \
    "$work" "$work" "$name" > "$work/run-$name"
  chmod +x "$work/run-$name"
done
.venv/bin/python scripts/code-order.py run "$work/run-parleyd" "$work/run-parleyctl"
.venv/bin/python scripts/code-order.py collect "$work/parleyd" "$work"/callgrind.* > packaging/parleyd.order
echo "code-order: $(wc -l < packaging/parleyd.order) functions in packaging/parleyd.order"
