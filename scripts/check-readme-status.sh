#!/usr/bin/env bash
# Keeps README's Status true to the daemon: every backend kind parleyd accepts is named
# there (in backticks) and in docs/BACKENDS.md, and Status says nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=$(.build/debug/parleyd config-reference | grep '^| `backend.kind`' | sed 's/^| `backend.kind` | \([^|]*\(\\|[^|]*\)*\) |.*/\1/; s/\\|/ /g')
[ -n "$kinds" ] || { echo "check-readme-status: no backend.kind row in parleyd config-reference" >&2; exit 1; }
status=$(awk '/^## Status/ { on = 1; next } /^## / { on = 0 } on' README.md)
failed=0
for kind in $kinds; do
  grep -q "\`$kind\`" <<< "$status" || { echo "README.md Status does not name the backend \`$kind\`" >&2; failed=1; }
  grep -q "$kind" docs/BACKENDS.md || { echo "docs/BACKENDS.md does not name the backend $kind" >&2; failed=1; }
done
if grep -qiE "not yet|refused at start" <<< "$status"; then
  echo "README.md Status says something is not there yet: check it against the backends above" >&2; failed=1
fi
exit $failed
