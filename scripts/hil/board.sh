#!/bin/sh
# The HIL VM's board, in either guest (the host-root chroot, guest.sh; or the booted Debian
# root, hil-board.service): the out-of-tree gpio-sim chip labelled "hil-sim" with lines
# $HIL_GPIO_LINES, and qemu's user network with no default route (the guest reaches the
# host at 10.0.2.2 and nothing else). Expects /run/hil/env or /hil/env's HIL_* settings.
set -e
cfg=/sys/kernel/config/gpio-sim/hil
modprobe configfs
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
insmod "$HIL_CACHE_DIR/irq_sim.ko"
insmod "$HIL_CACHE_DIR/gpio-sim.ko"

# gpio-sim: one bank, lines named as a board profile would name them.
mkdir "$cfg" "$cfg/bank0"
echo 8 > "$cfg/bank0/num_lines"
echo hil-sim > "$cfg/bank0/label"
i=0
for name in $HIL_GPIO_LINES; do
  mkdir "$cfg/bank0/line$i"
  echo "$name" > "$cfg/bank0/line$i/name"
  i=$((i + 1))
done
echo 1 > "$cfg/live"

modprobe virtio_net
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
