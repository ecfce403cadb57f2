#!/usr/bin/env bash
# `make run`: parleyd on the offline default (echo backend, simulated board, ALSA file
# devices), with one push-to-talk turn on a spoken fixture so it visibly does its job:
#   run/mic.raw      what the microphone hears at each press (raw S16_LE mono 48 kHz):
#                    generated with espeak-ng unless you put your own there; between
#                    presses it hears silence (scripts/demo-mic.py feeds it through run/mic.fifo)
#   run/speaker.wav  the speaker: the cues and the echo of what was said, playable while
#                    the daemon runs (demo-audio.py writes it from run/speaker.fifo)
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
rm -f "$RUN_DIR/mic.fifo" "$RUN_DIR/speaker.fifo" && mkfifo "$RUN_DIR/mic.fifo" "$RUN_DIR/speaker.fifo"
python3 scripts/demo-audio.py mic "$RUN_DIR/mic.fifo" "$RUN_DIR/mic.raw" "$SOCKET" &
MIC=$!
python3 scripts/demo-audio.py speaker "$RUN_DIR/speaker.fifo" "$RUN_DIR/speaker.wav" &
SPEAKER=$!
trap 'kill $MIC $SPEAKER 2>/dev/null' EXIT
export PARLEY_SIM_MIC=$RUN_DIR/mic.fifo
export PARLEY_SIM_SPEAKER=$RUN_DIR/speaker.fifo PARLEY_SIM_SPEAKER_FORMAT=raw
export PARLEY_CONTROL_SOCKET=$SOCKET      # parleyctl's
export PARLEY_CONTROL__SOCKET=$SOCKET     # the daemon's control.socket (docs/CONFIG.md, environment)
mkdir -p "$(dirname "$SOCKET")"
"$BUILD_DIR/parleyd" --config board/sim/50-board.toml --config-dir "$RUN_DIR/conf.d" &
DAEMON=$!
trap 'kill -INT $DAEMON 2>/dev/null; wait $DAEMON; kill $MIC $SPEAKER 2>/dev/null' INT TERM EXIT

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
echo
echo "make run: one turn done. Listen to $RUN_DIR/speaker.wav (cues, then the echo of $RUN_DIR/mic.raw);"
echo "More turns: PARLEY_CONTROL_SOCKET=$SOCKET $BUILD_DIR/parleyctl ptt press, then ptt release"
echo "(each press hears $RUN_DIR/mic.raw from its start). Ctrl-C stops."
wait $DAEMON
