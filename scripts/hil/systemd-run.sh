#!/bin/sh
# hil-run.service in the booted Debian root (HIL_ROOT): runs the command in the caller's
# working directory once the system is up, hands its status back through /hil/rc and
# powers the VM off.
. /hil/env
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cfg=/sys/kernel/config/gpio-sim/hil
if systemctl is-active -q hil-board.service; then
  export HIL_GPIO_SYSFS="/sys/devices/platform/$(cat "$cfg/dev_name")/$(cat "$cfg/bank0/chip_name")"
  cd "$(cat /hil/cwd)" && sh /hil/cmd
  rc=$?
else
  echo "hil: guest setup failed"; systemctl status --no-pager hil-board.service; rc=126
fi
echo "$rc" > /hil/rc
sync
systemctl poweroff --force --force
