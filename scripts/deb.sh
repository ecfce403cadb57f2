#!/usr/bin/env bash
# Builds build/parley_<version>_<arch>.deb: `make install` (release, the Swift runtime
# linked in statically — a device has no Swift toolchain; one binary, parleyctl a link to it) into a staging root, Depends from
# dpkg-shlibdeps (the Debian packages of the C libraries the binaries load), and the
# control files and maintainer scripts of packaging/deb/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

version=$(sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/ParleyControlProtocol/ParleyVersion.swift)
arch=$(dpkg --print-architecture)
out=build
stage=$out/deb-root
rm -rf "$stage" "$out/shlibs"
mkdir -p "$stage/DEBIAN" "$out/shlibs/debian"

make --no-print-directory install DESTDIR="$PWD/$stage" PREFIX=/usr CONFIG=release \
    SWIFT_BUILD_FLAGS="--static-swift-stdlib" >/dev/null
strip --strip-unneeded "$stage/usr/bin/parleyd"  # as dh_strip would; Swift's metadata sections stay
[ "$(readlink "$stage/usr/bin/parleyctl")" = parleyd ] || { echo "deb: parleyctl is not the link to parleyd" >&2; exit 1; }
if ldd "$stage/usr/bin/parleyd" | grep -q libswiftCore; then
    echo "deb: parleyd still loads the Swift runtime dynamically" >&2
    exit 1
fi

# dpkg-shlibdeps wants a source package around it; a minimal one in build/shlibs.
printf 'Source: parley\n\nPackage: parley\nArchitecture: any\n' > "$out/shlibs/debian/control"
depends=$(cd "$out/shlibs" && dpkg-shlibdeps -O -e"$PWD/../deb-root/usr/bin/parleyd" \
    2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" packaging/deb/control.in \
    > "$stage/DEBIAN/control"
echo "Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)" >> "$stage/DEBIAN/control"
install -m 0644 packaging/deb/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"

deb="$out/parley_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
