#!/usr/bin/env bash
# `make run`: parleyd on the offline default (echo backend, simulated board, ALSA file
# devices), with one push-to-talk turn on a spoken fixture so it visibly does its job:
#   run/mic.raw      the microphone (raw S16_LE mono 48 kHz): generated with espeak-ng
#                    unless you put your own there
#   run/speaker.wav  the speaker: the cues and the echo of what was said (complete once
#                    the daemon stops; run/turn.wav is the demo turn, playable at once)
# The daemon then keeps running; press with `parleyctl ptt press|release` (socket below).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-.build/release}
RUN_DIR=${RUN_DIR:-run}
SOCKET=/tmp/parley-sim/control.sock
LEAD=1.0   # seconds of silence before the fixture's speech
mkdir -p "$RUN_DIR/conf.d"
RUN_DIR=$(cd "$RUN_DIR" && pwd)  # relative or absolute, the daemon gets full paths

if [ ! -f "$RUN_DIR/mic.raw" ]; then
    espeak-ng -v en-us -s 150 -w "$RUN_DIR/said.wav" \
        "Parley check. The van's compressor is back online and the pressure reads ninety PSI."
    sox -q "$RUN_DIR/said.wav" -r 48000 -c 1 -b 16 -e signed-integer -t raw "$RUN_DIR/mic.raw" pad "$LEAD" 2
fi
# How long to hold the button: the lead plus the speech, plus a little.
HOLD=$(python3 -c "import os; print(os.path.getsize('$RUN_DIR/mic.raw') / 96000 - 1.5)")

export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$PWD/board/sim/asound.conf
export PARLEY_SIM_MIC=$RUN_DIR/mic.raw
export PARLEY_SIM_SPEAKER=$RUN_DIR/speaker.wav
export PARLEY_CONTROL_SOCKET=$SOCKET      # parleyctl's
export PARLEY_CONTROL__SOCKET=$SOCKET     # the daemon's control.socket (docs/CONFIG.md, environment)
mkdir -p "$(dirname "$SOCKET")"
"$BUILD_DIR/parleyd" --config board/sim/50-board.toml --config-dir "$RUN_DIR/conf.d" &
DAEMON=$!
trap 'kill -INT $DAEMON 2>/dev/null; wait $DAEMON' INT TERM

# The demo turn: press as soon as the daemon answers, release after the speech.
for _ in $(seq 100); do
    "$BUILD_DIR/parleyctl" status >/dev/null 2>&1 && break
    sleep 0.05
done
START=$(date +%s.%N)
"$BUILD_DIR/parleyctl" ptt press
sleep "$(python3 -c "print(max(0.2, $HOLD - ($(date +%s.%N) - $START)))")"
"$BUILD_DIR/parleyctl" ptt release
for _ in $(seq 300); do  # until the echo has played out
    sleep 0.1
    "$BUILD_DIR/parleyctl" status | grep -q '^turn *idle' && break
done
"$BUILD_DIR/parleyctl" status
# The file plugin writes speaker.wav's sizes into its header only when the daemon closes it:
# until then players read it as empty. The turn so far, with a header that says so:
[ -f "$RUN_DIR/speaker.wav" ] && python3 - "$RUN_DIR/speaker.wav" "$RUN_DIR/turn.wav" <<'PY'
import sys, wave
data = open(sys.argv[1], "rb").read()[44:]  # the plugin's header is the canonical 44 bytes
with wave.open(sys.argv[2], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000); w.writeframes(data[:len(data) // 2 * 2])
PY
[ -f "$RUN_DIR/turn.wav" ] || echo "make run: the speaker wrote nothing (see the log above)"
echo
echo "make run: one turn done. Listen to $RUN_DIR/turn.wav (cues, then the echo of $RUN_DIR/mic.raw);"
echo "$RUN_DIR/speaker.wav holds everything the speaker played once the daemon stops."
echo "More turns: PARLEY_CONTROL_SOCKET=$SOCKET $BUILD_DIR/parleyctl ptt press / ptt release. Ctrl-C stops."
wait $DAEMON
