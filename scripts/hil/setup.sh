#!/usr/bin/env bash
# Prepares the hardware-in-the-loop VM (docs/HIL.md): Debian's packages, then — cached per
# kernel ABI under $HIL_CACHE/<kver>, rebuilt when Debian's kernel moves — the kernel as an
# uncompressed vmlinux (qemu boots it directly, PVH), gpio-sim built out of tree (Debian's
# kernels leave it out) and a small initramfs that mounts the host's root. Prints the
# cache directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
HIL_CACHE=${HIL_CACHE:-$(cd "$here/../.." && pwd)/.build/hil}

PACKAGES=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio xz-utils
          kmod gcc make alsa-utils gpiod)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hil: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The kernel the meta package points at now; its exact headers come with linux-headers-amd64.
KVER=${HIL_KVER:-$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed -E 's/^linux-image-([^ ,]+).*/\1/')}
[ -d "/lib/modules/$KVER" ] && [ -d "/lib/modules/$KVER/build" ] || {
  echo "hil: kernel $KVER or its headers are not installed (linux-image-$KVER, linux-headers-$KVER)" >&2; exit 1; }
cache=$HIL_CACHE/$KVER
mkdir -p "$cache"

# 1. vmlinux: the bzImage's xz payload, unpacked. PVH boots it 2–3 s faster than the bzImage
#    under TCG (no decompressor run at emulated speed).
if [ ! -s "$cache/vmlinux" ]; then
  echo "hil: extracting vmlinux from /boot/vmlinuz-$KVER" >&2
  python3 - "/boot/vmlinuz-$KVER" "$cache/vmlinux" <<'PY'
import lzma, sys
image = open(sys.argv[1], "rb").read()
start = image.find(b"\xfd7zXZ\x00")
if start < 0:
    sys.exit("hil: no xz payload in " + sys.argv[1])
elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(image[start:])
if elf[:4] != b"\x7fELF":
    sys.exit("hil: the payload is not an ELF kernel")
open(sys.argv[2] + ".tmp", "wb").write(elf)
PY
  mv "$cache/vmlinux.tmp" "$cache/vmlinux"
fi

# 2. gpio-sim and irq_sim, out of tree, from the matching linux-source. irq_sim calls
#    irq_to_desc(), which the kernel does not export: generic_handle_irq() does the same here.
if [ ! -s "$cache/gpio-sim.ko" ] || [ ! -s "$cache/irq_sim.ko" ]; then
  version=$(dpkg-query -W -f='${Version}' "linux-image-$KVER")
  series=$(echo "$KVER" | cut -d. -f1,2)
  src=$(mktemp -d)
  chmod 755 "$src"   # apt downloads as _apt
  trap 'rm -rf "$src"' EXIT
  echo "hil: building gpio-sim for $KVER from linux-source-$series $version" >&2
  (cd "$src" && apt-get download -qq "linux-source-$series=$version" >&2)
  dpkg-deb --fsys-tarfile "$src"/linux-source-*.deb \
    | tar -xO "./usr/src/linux-source-$series.tar.xz" \
    | tar -xJ -C "$src" "linux-source-$series/drivers/gpio/gpio-sim.c" "linux-source-$series/drivers/gpio/gpiolib.h" \
        "linux-source-$series/kernel/irq/irq_sim.c"
  rm -f "$src"/linux-source-*.deb
  mod=$src/mod
  mkdir -p "$mod"
  cp "$src/linux-source-$series/drivers/gpio/gpio-sim.c" "$src/linux-source-$series/drivers/gpio/gpiolib.h" \
     "$src/linux-source-$series/kernel/irq/irq_sim.c" "$mod/"
  sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$mod/irq_sim.c"
  grep -q 'generic_handle_irq(irqnum)' "$mod/irq_sim.c" || { echo "hil: irq_sim.c changed; the patch no longer applies" >&2; exit 1; }
  printf '#include <linux/module.h>\nMODULE_LICENSE("GPL");\n' >> "$mod/irq_sim.c"
  echo 'obj-m := irq_sim.o gpio-sim.o' > "$mod/Kbuild"
  make -s -C "/lib/modules/$KVER/build" M="$mod" modules >&2
  cp "$mod/irq_sim.ko" "$mod/gpio-sim.ko" "$cache/"
fi

# 3. initramfs: static busybox, the modules that reach the host root (virtio, 9p, overlay)
#    and our /init. Rebuilt when /init changes.
stamp=$(sha256sum < "$here/init" | cut -c1-16)
if [ ! -s "$cache/initrd.cpio.gz" ] || [ "$(cat "$cache/initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,dev,proc,sys,mnt,modules}
  cp /bin/busybox "$root/bin/busybox"
  : > "$root/modules/order"
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    /sbin/modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}' | while read -r ko; do
      name=$(basename "$ko")
      grep -qx "$name" "$root/modules/order" && continue
      cp "$ko" "$root/modules/$name"
      echo "$name" >> "$root/modules/order"
    done
  done
  install -m 0755 "$here/init" "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$cache/initrd.cpio.gz"
  rm -rf "$root"
  echo "$stamp" > "$cache/initrd.stamp"
fi
echo "$cache"
