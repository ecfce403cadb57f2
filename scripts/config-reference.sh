#!/usr/bin/env bash
# Keeps the key reference in docs/CONFIG.md equal to what parleyd's schema says.
#   --write  regenerate it between the markers
#   --check  fail (and show the diff) when it is stale
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/CONFIG.md
begin='<!-- BEGIN GENERATED REFERENCE: make docs -->'
end='<!-- END GENERATED REFERENCE -->'
generated=$(mktemp)
trap 'rm -f "$generated" "$generated.doc"' EXIT
.build/debug/parleyd config-reference > "$generated"
awk -v b="$begin" -v e="$end" -v f="$generated" '
  $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
  $0 == e { skip = 0 }
  !skip { print }' "$doc" > "$generated.doc"
case "${1:-}" in
  --write) mv "$generated.doc" "$doc"; echo "updated $doc" ;;
  --check)
    if ! diff -u "$doc" "$generated.doc"; then
      echo "docs/CONFIG.md is stale: run \`make docs\`" >&2; exit 1
    fi ;;
  *) echo "usage: $0 --write|--check" >&2; exit 2 ;;
esac
