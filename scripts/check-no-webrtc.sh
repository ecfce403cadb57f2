#!/usr/bin/env bash
# A parleyd built without the WebRTC trait: it links no GStreamer, and a WebRTC backend is
# refused at start with EX_CONFIG (78) and words that say why (and no key in them).
set -euo pipefail
parleyd=$1
if ldd "$parleyd" | grep -q gstreamer; then echo "check-no-webrtc: $parleyd links GStreamer" >&2; exit 1; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'sk-proj-NO-WEBRTC-SECRET-4242\n' > "$dir/key" && chmod 600 "$dir/key"
printf '[backend]\nkind = "openai_webrtc"\n[backend.openai]\napi_key_file = "%s/key"\n' "$dir" > "$dir/parley.toml"
set +e
out=$("$parleyd" --config "$dir/parley.toml" 2>&1)
code=$?
set -e
if [ "$code" -ne 78 ] || ! grep -q 'not available in this build' <<<"$out" || grep -q 'NO-WEBRTC-SECRET' <<<"$out"; then
  echo "check-no-webrtc: expected exit 78 naming the missing backend, got $code: $out" >&2; exit 1
fi
echo "check-no-webrtc: ok (no GStreamer linked; openai_webrtc refused with exit 78)"
