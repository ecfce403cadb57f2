#!/usr/bin/env bash
# Runs a command inside the HIL VM (docs/HIL.md) and exits with its status:
#   scripts/hil/run-in-vm.sh 'aplay -l && gpiodetect'     one argument: a shell string
#   scripts/hil/run-in-vm.sh ./prog --flag "a b"          several: an argv
# The guest sees the host's root read-only (writes stay in guest RAM), the working
# directory read-write at the same path, a snd-aloop card (hw:Loopback), a gpio-sim chip
# labelled "hil-sim" with lines $HIL_GPIO_LINES ($HIL_GPIO_SYSFS pulls them), and the
# host's loopback at 10.0.2.2. Every HIL_* variable is passed in.
# Exit status: the command's; 124 the VM timed out (HIL_TIMEOUT s); 125 no status came back
# (guest panic, qemu failed); 126 the guest setup failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }

export HIL_CACHE_DIR=${HIL_CACHE_DIR:-$("$here/setup.sh")}
export HIL_GPIO_LINES=${HIL_GPIO_LINES:-"ptt cancel led_green led_red"}
HIL_TIMEOUT=${HIL_TIMEOUT:-900}
HIL_ACCEL=${HIL_ACCEL:-tcg}          # a host with working KVM may say kvm
HIL_SMP=${HIL_SMP:-2}
HIL_MEM=${HIL_MEM:-1536M}

run=$(mktemp -d /tmp/parley-hil.XXXXXX)
trap 'rm -rf "$run"' EXIT
pwd > "$run/cwd"
cp "$here/guest.sh" "$run/guest.sh"
cp "$here/board.sh" "$run/board.sh"
cp "$here/systemd-run.sh" "$run/run.sh"
# HIL_ROOT (systemd-root.sh mount): boot that Debian root with systemd as PID 1 instead.
root_args=() append=""
if [ -n "${HIL_ROOT:-}" ]; then
  root_args=(-virtfs "local,path=$HIL_ROOT,mount_tag=sysroot,security_model=none,readonly=on,multidevs=remap")
  append=" hil.systemd net.ifnames=0 systemd.unit=hil.target systemd.show_status=0"
fi
for v in ${!HIL_@}; do printf 'export %s=%q\n' "$v" "${!v}"; done > "$run/env"
if [ $# -eq 1 ]; then
  printf '%s\n' "$1" > "$run/cmd"
else
  printf '%q ' "$@" > "$run/cmd"; echo >> "$run/cmd"
fi

status=0
timeout --kill-after=10 "$HIL_TIMEOUT" qemu-system-x86_64 \
  -accel "$HIL_ACCEL" -cpu max -smp "$HIL_SMP" -m "$HIL_MEM" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$HIL_CACHE_DIR/vmlinux" -initrd "$HIL_CACHE_DIR/initrd.cpio.gz" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1 8250.nr_uarts=1 tsc=reliable$append" \
  -chardev stdio,id=con,signal=off -serial chardev:con \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap "${root_args[@]}" \
  -virtfs "local,path=$run,mount_tag=hilrun,security_model=none" \
  -virtfs "local,path=$PWD,mount_tag=hilcwd,security_model=none,multidevs=remap" \
  -netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
  </dev/null 2>"$run/qemu.err" | sed -u 's/\r$//' || status=$?
# pipefail: a timeout shows as 124 (or 137 after the kill) from qemu's side of the pipe
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "hil: the VM did not finish within ${HIL_TIMEOUT}s" >&2
  exit 124
fi
if [ ! -s "$run/rc" ]; then
  echo "hil: no exit status came back from the guest (qemu status $status)" >&2
  cat "$run/qemu.err" >&2
  exit 125
fi
exit "$(cat "$run/rc")"
