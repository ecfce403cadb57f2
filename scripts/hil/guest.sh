#!/bin/sh
# Runs inside the HIL VM, in the host's root: loads snd-aloop and the out-of-tree gpio-sim,
# makes the simulated chip, brings up the user-mode network (the host is 10.0.2.2), then
# runs the command in the caller's working directory. Its status is the VM's.
. /run/hil/env
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cfg=/sys/kernel/config/gpio-sim/hil

setup() {
modprobe snd-aloop index=0 id=Loopback pcm_substreams=4
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
ip addr add 10.0.2.15/24 dev eth0   # no default route: the guest reaches the host and nothing else
}
( set -e; setup ) || { echo "hil: guest setup failed"; exit 126; }
export HIL_GPIO_SYSFS="/sys/devices/platform/$(cat "$cfg/dev_name")/$(cat "$cfg/bank0/chip_name")"
cd "$(cat /run/hil/cwd)"
sh /run/hil/cmd
