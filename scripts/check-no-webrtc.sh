#!/usr/bin/env bash
# A parleyd built without the WebRTC trait (what the parley package ships): it links no
# GStreamer; a WebRTC backend is refused by check-config and at start with EX_CONFIG (78)
# and words that say why (and no key in them) when the parleyd-webrtc helper is missing, and
# with the helper in place (usr/lib/parley/parleyd-webrtc beside usr/bin/parleyd, as the
# parley-webrtc package puts it) both hand over to it: same PID, the helper's executable.
#   check-no-webrtc.sh PARLEYD_WITHOUT_WEBRTC PARLEYD_WITH_WEBRTC
set -euo pipefail
plain=$1 helper=$2
fail() { echo "check-no-webrtc: $*" >&2; exit 1; }
if ldd "$plain" | grep -q gstreamer; then fail "$plain links GStreamer"; fi
dir=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
mkdir -p "$dir/usr/bin" "$dir/usr/lib/parley"
cp "$plain" "$dir/usr/bin/parleyd"
parleyd=$dir/usr/bin/parleyd

printf 'sk-proj-NO-WEBRTC-SECRET-4242\n' > "$dir/key" && chmod 600 "$dir/key"
printf '[backend]\nkind = "openai_webrtc"\n[backend.openai]\napi_key_file = "%s/key"\n[control]\nsocket = "%s/ctl.sock"\n' \
    "$dir" "$dir" > "$dir/parley.toml"
for command in check-config run; do
    set +e
    out=$("$parleyd" "$command" --config "$dir/parley.toml" 2>&1)
    code=$?
    set -e
    if [ "$code" -ne 78 ] || ! grep -q 'needs WebRTC.*parleyd-webrtc) is not installed' <<<"$out" \
        || ! grep -q 'apt install parley-webrtc' <<<"$out" || grep -q 'NO-WEBRTC-SECRET' <<<"$out"; then
        fail "$command without the helper: expected exit 78 naming parley-webrtc, got $code: $out"
    fi
done

cp "$helper" "$dir/usr/lib/parley/parleyd-webrtc"
out=$("$parleyd" check-config --config "$dir/parley.toml" 2>&1) || fail "check-config with the helper: $out"
grep -q 'kind = "openai_webrtc"' <<<"$out" || fail "check-config with the helper printed no configuration: $out"
"$parleyd" --config "$dir/parley.toml" > "$dir/log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$dir/ctl.sock" ] && break; sleep 0.1; done
exe=$(readlink "/proc/$pid/exe" || true)
[ "$exe" = "$dir/usr/lib/parley/parleyd-webrtc" ] || fail "PID $pid runs '$exe', not the helper: $(cat "$dir/log")"
grep -q gstreamer "/proc/$pid/maps" || fail "the helper maps no GStreamer"
# SIGTERM while its first call is being dialled: it stops (a stop once hung here).
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "the helper did not stop within 5 s of SIGTERM: $(cat "$dir/log")"; fi
wait "$pid" || fail "the helper exited $? on SIGTERM: $(cat "$dir/log")"
pid=
echo "check-no-webrtc: ok (no GStreamer linked; openai_webrtc refused with exit 78 without the helper, handed over to it with it)"
