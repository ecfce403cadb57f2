#!/bin/sh
# Runs inside the HIL VM, in the host's root: loads snd-aloop, sets up the board (board.sh:
# gpio-sim, the network to the host at 10.0.2.2), then runs the command in the caller's
# working directory. Its status is the VM's.
. /run/hil/env
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cfg=/sys/kernel/config/gpio-sim/hil
( set -e; modprobe snd-aloop index=0 id=Loopback pcm_substreams=4; sh /run/hil/board.sh ) \
  || { echo "hil: guest setup failed"; exit 126; }
export HIL_GPIO_SYSFS="/sys/devices/platform/$(cat "$cfg/dev_name")/$(cat "$cfg/bank0/chip_name")"
cd "$(cat /run/hil/cwd)"
sh /run/hil/cmd
