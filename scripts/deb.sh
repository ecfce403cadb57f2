#!/usr/bin/env bash
# Builds two packages in build/ (the daemons as scripts/shipped.sh builds them):
#   parley_<version>_<arch>.deb         `make install` of parleyd built without the WebRTC
#                                       trait (no GStreamer), parleyctl a link to it;
#   parley-webrtc_<version>_<arch>.deb  /usr/lib/parley/parleyd-webrtc, the daemon built with
#                                       it, which parleyd hands over to (WebRTCHandoff.swift).
# Depends come from dpkg-shlibdeps (the Debian packages of the C libraries each binary
# links), and control.in names the three it opens at their first call instead (libcurl4,
# libespeak-ng1, libssl3: CParleyLazy); control files and maintainer scripts from packaging/deb/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

version=$(sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/ParleyControlProtocol/ParleyVersion.swift)
arch=$(dpkg --print-architecture)
out=build
stage=$out/deb-root
stage_webrtc=$out/deb-root-webrtc
rm -rf "$stage" "$stage_webrtc" "$out/shlibs"
mkdir -p "$stage/DEBIAN" "$stage_webrtc/DEBIAN" "$out/shlibs/debian"

fail() { echo "deb: $*" >&2; exit 1; }

. scripts/shipped.sh
plain=$(shipped_build plain)
make --no-print-directory install DESTDIR="$PWD/$stage" PREFIX=/usr BUILD_DIR="$(dirname "$plain")" \
    CONFIG=release SWIFT_BUILD_FLAGS="$(shipped_flags plain | sed 's/-c release //')" >/dev/null
install -D -m 0755 "$(shipped_build webrtc)" "$stage_webrtc/usr/lib/parley/parleyd-webrtc"

for binary in "$stage/usr/bin/parleyd" "$stage_webrtc/usr/lib/parley/parleyd-webrtc"; do
    strip --strip-unneeded "$binary"  # as dh_strip would; Swift's metadata sections stay
    if ldd "$binary" | grep -q libswiftCore; then fail "$binary still loads the Swift runtime dynamically"; fi
done
[ "$(readlink "$stage/usr/bin/parleyctl")" = parleyd ] || fail "parleyctl is not the link to parleyd"
if ldd "$stage/usr/bin/parleyd" | grep -q gstreamer; then fail "parleyd links GStreamer"; fi

# dpkg-shlibdeps wants a source package around it; a minimal one in build/shlibs.
printf 'Source: parley\n\nPackage: parley\nArchitecture: any\n' > "$out/shlibs/debian/control"
shlibdeps() {
    local depends
    depends=$(cd "$out/shlibs" && dpkg-shlibdeps -O -e"$PWD/../../$1" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    [ -n "$depends" ] || fail "dpkg-shlibdeps found no dependencies of $1"
    echo "$depends"
}

# package STAGE CONTROL_TEMPLATE DEPENDS NAME
package() {
    sed -e "s/@VERSION@/$version/g" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$3/" "$2" > "$1/DEBIAN/control"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$1" | cut -f1)" >> "$1/DEBIAN/control"
    local deb="$out/${4}_${version}_${arch}.deb"
    dpkg-deb --root-owner-group -Zxz --build "$1" "$deb" >/dev/null
    echo "$deb"
}

install -m 0644 packaging/deb/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"
package "$stage" packaging/deb/control.in "$(shlibdeps "$stage/usr/bin/parleyd")" parley
package "$stage_webrtc" packaging/deb/control-webrtc.in "$(shlibdeps "$stage_webrtc/usr/lib/parley/parleyd-webrtc")" parley-webrtc
