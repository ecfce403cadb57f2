#!/usr/bin/env bash
# The root the HIL VM boots with systemd as PID 1 (docs/HIL.md, "The installed service"):
#   systemd-root.sh base DEB          prints a cached Debian bookworm root (debootstrap minbase,
#                                     systemd, udev, the tools the scenarios use, and the
#                                     package's dependencies from the archive); rebuilt when
#                                     this script or the package's Depends change
#   systemd-root.sh mount DEB DIR KVER  DIR becomes that root under a writable overlay with DEB
#                                     installed by apt as on a device, the kernel's modules at
#                                     /lib/modules/KVER and Tests/hil/systemd/root copied over
#                                     it (the VM's board profile, units, udev test rule)
#   systemd-root.sh umount DIR
# The VM sees DIR read-only over 9p under its own RAM overlay; nothing it writes comes back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
HIL_CACHE=${HIL_CACHE:-$repo/.build/hil}
MIRROR=${HIL_MIRROR:-http://deb.debian.org/debian}
# What the scenarios run in the guest besides the package: python3 for the host's venv
# (the same bookworm 3.11), aplay/arecord, gpio tools, espeak-ng and sox for the spoken fixture.
PACKAGES=(systemd systemd-sysv udev kmod iproute2 procps python3 alsa-utils gpiod espeak-ng sox)
env_apt=(env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin)

apt_in() {  # apt-get ARGS in the root DIR, with /proc mounted for the maintainer scripts
  local dir=$1 rc=0
  shift
  mount -t proc proc "$dir/proc"
  "${env_apt[@]}" chroot "$dir" apt-get "$@" >&2 || rc=$?
  umount "$dir/proc"
  return $rc
}

depends() {  # the package's Depends, names only (apt resolves the versions)
  dpkg-deb --field "$1" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/[[:space:]]//g' | grep -v '^$'
}

base() {
  local deb=$1 dir=$HIL_CACHE/bookworm-systemd
  local stamp
  stamp=$( (cat "$0"; echo "${PACKAGES[*]}"; depends "$deb") | sha256sum | cut -c1-16)
  if [ "$(cat "$dir.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$dir/lib/systemd/systemd" ]; then
    echo "hil: building the VM's Debian root (debootstrap; first time ~3–5 min)" >&2
    rm -rf "$dir" "$dir.stamp"
    mkdir -p "$dir"
    local minbase=$repo/build/bookworm-minbase.tar   # make test-package's, when it is there
    if [ -s "$minbase" ]; then
      tar -C "$dir" -xf "$minbase"
    else
      debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >&2
    fi
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    apt_in "$dir" update -qq
    # shellcheck disable=SC2046
    apt_in "$dir" install -y -qq --no-install-recommends "${PACKAGES[@]}" $(depends "$deb")
    apt_in "$dir" clean
    echo "$stamp" > "$dir.stamp"
  fi
  echo "$dir"
}

mount_root() {
  local deb=$1 dir=$2 kver=$3 lower
  lower=$(base "$deb")
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
  local r=$dir/root
  cp "$deb" "$r/tmp/parley.deb"
  # Offline when the base holds the dependencies: apt installs it as on a device
  # (maintainer scripts, the user, the unit enabled).
  apt_in "$r" install -y -qq --no-install-recommends /tmp/parley.deb
  rm "$r/tmp/parley.deb"
  mkdir -p "$r/lib/modules/$kver"
  mount --bind -o ro "/lib/modules/$kver" "$r/lib/modules/$kver"
  cp -r "$repo/Tests/hil/systemd/root/." "$r/"
  echo "$r"
}

umount_root() {
  local dir=$1
  mountpoint -q "$dir/root" || return 0
  umount -R "$dir/root"
}

case "${1:-}" in
  base) base "$2" ;;
  mount) mount_root "$2" "$3" "$4" ;;
  umount) umount_root "$2" ;;
  *) echo "usage: $0 base DEB | mount DEB DIR KVER | umount DIR" >&2; exit 2 ;;
esac
