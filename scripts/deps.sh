#!/usr/bin/env bash
# Installs what building and testing Parley needs on Debian bookworm. Idempotent:
# apt runs only when a package is missing; the Python venv is rebuilt only when
# the pinned requirements change.
#   deps.sh          build, run and test (make test, bench, deb): apt and the test venv (PyPI)
#   deps.sh --build  build and run (make build, make run): apt only, no PyPI
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PACKAGES=(
  pkg-config
  libasound2-dev libasound2-plugins alsa-utils      # ALSA and its file/null/pulse plugins
  libspeexdsp-dev libopus-dev                        # DSP and codec
  libcurl4-openssl-dev                               # HTTP, SSE, SDP exchange
  libgpiod-dev gpiod                                 # GPIO, v1 API (1.6)
  libsqlite3-dev                                     # the transcript queue
  libespeak-ng-dev                                   # on-device speech for text backends (agent_c, agent_routes)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libssl-dev  # WebRTC backends (the WebRTC trait)
  gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-plugins-good gstreamer1.0-plugins-base  # webrtcbin, ICE, RTP, Opus
  espeak-ng sox python3                              # make run's spoken fixture; test fixtures too
)
TEST_PACKAGES=(
  python3-venv                                       # test harness
  pulseaudio pulseaudio-utils                        # a paced ALSA device that can vanish (pulse plugin); paplay, pactl
  dpkg-dev fakeroot binutils debootstrap systemd     # make deb (dpkg-shlibdeps, strip), its install test, unit checks
)
APT_PACKAGES=("${BUILD_PACKAGES[@]}")
[ "${1:-}" = "--build" ] || APT_PACKAGES+=("${TEST_PACKAGES[@]}")

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo; install: ${APT_PACKAGES[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = "--build" ] && exit 0

# Python test dependencies, pinned, in a venv of our own.
VENV=.venv
REQ=Tests/harness/requirements.txt
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "deps: creating $VENV from $REQ"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  echo "$want" > "$stamp"
fi
