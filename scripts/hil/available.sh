#!/usr/bin/env bash
# Exits 0 when this machine can run the HIL VM (make test then runs `make hil`); otherwise
# says why on stderr and exits 1. HIL=0 in the environment turns it off.
[ "${HIL:-1}" != 0 ] || { echo "HIL=0" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "the VM runs Debian's amd64 kernel; this is $(uname -m)" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "no apt-get: the VM is set up from Debian's packages" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null || { echo "needs root or passwordless sudo (apt, modules)" >&2; exit 1; }
exit 0
