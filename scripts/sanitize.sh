#!/usr/bin/env bash
# make sanitize: the Swift unit tests built and run under AddressSanitizer (with
# LeakSanitizer), then ThreadSanitizer, each in its own build directory. SANITIZERS picks
# ("address thread"). A report fails the run. Known leaks of dependencies are suppressed by
# name in scripts/lsan.supp, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
for sanitizer in ${SANITIZERS:-address thread}; do
  dir=.build-${sanitizer:0:1}san
  echo "sanitize: $sanitizer ($dir)"
  swift build --build-tests --sanitize="$sanitizer" --build-path "$dir"
  swift test --skip-build --no-parallel --disable-xctest --sanitize="$sanitizer" --build-path "$dir"  # the tests are swift-testing
done
