#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the release build, the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, and each libFuzzer target for a bounded time.
# Usage: scripts/test.sh            (everything; what CI runs)
#        WHALE_QUICK=1 scripts/test.sh   (release build only: no sanitizers, no fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

scripts/build.sh release
(cd build && ctest --output-on-failure -j "$(nproc)")

if [ "${WHALE_QUICK:-0}" != 1 ]; then
  scripts/build.sh asan
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$(nproc)" -LE slow)
  scripts/build.sh fuzz
  scripts/fuzz.sh "${WHALE_FUZZ_SECONDS:-60}"
fi
echo "scripts/test.sh: all tests passed"
