#!/usr/bin/env bash
# What apt pulls onto a headless device: a minbase bookworm root (debootstrap, cached in
# build/bookworm-minbase.tar as the package test caches it), then `apt-get install -s`.
# Prints JSON:
#   recommends_closure           packages added for parley with its Recommends (apt's default)
#   recommends_desktop           of those, desktop packages (GTK, X, Wayland, icon themes, fonts,
#                                GL) a headless device has no use for
#   recommends_closure_webrtc    the same for parley and parley-webrtc
#   recommends_desktop_webrtc    how many of those are desktop packages (Debian's plugins-bad
#                                depends on GTK and recommends the X plugins)
#   closure_webrtc_no_recommends parley and parley-webrtc with --no-install-recommends
#   recommends-closure.sh PARLEY_DEB PARLEY_WEBRTC_DEB
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$1 webrtc_deb=$2
cache=build/bookworm-minbase.tar
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
if [ ! -f "$cache" ]; then
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
    tar -C "$root" -cf "$cache" .
else
    tar -C "$root" -xf "$cache"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/parley.deb"
cp "$webrtc_deb" "$root/tmp/parley-webrtc.deb"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_root apt-get update -qq >/dev/null
added() { in_root apt-get install -s "$@" | sed -n 's/^Inst \([^ ]*\) .*/\1/p'; }
plain=$(added /tmp/parley.deb)
webrtc=$(added /tmp/parley.deb /tmp/parley-webrtc.deb)
bare=$(added --no-install-recommends /tmp/parley.deb /tmp/parley-webrtc.deb)
python3 - "$plain" "$webrtc" "$bare" <<'PY'
import json, re, sys
plain, webrtc, bare = ([line for line in text.split("\n") if line and not line.startswith("parley")] for text in sys.argv[1:])
desktop = re.compile(r"^(libgtk|gtk-|.*-icon-theme|dconf|xkb-data|libxkbcommon|fonts-|fontconfig|libwayland|xserver|x11-"
                     r"|libgl1|libegl|libgdk|gstreamer1.0-x|gstreamer1.0-gl|libgstreamer-gl)")
print(json.dumps({"recommends_closure": len(plain), "recommends_desktop": [p for p in plain if desktop.match(p)],
                  "recommends_closure_webrtc": len(webrtc), "recommends_desktop_webrtc": sum(bool(desktop.match(p)) for p in webrtc),
                  "closure_webrtc_no_recommends": len(bare)}))
PY
