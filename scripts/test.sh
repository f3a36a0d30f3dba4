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
  # Under the sanitizers: every unit-test binary (the CLI tests among them drive the sanitized
  # whale binary through the hostile-file corpus and the command-line error paths). The slower
  # script comparisons against the reference implementations run once, in the release build.
  scripts/build.sh asan
  for t in build-asan/test_*; do
    [[ -x $t && $t != *.cmake ]] || continue
    echo "asan: $t"
    WHALE_BIN=$PWD/build-asan/whale ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$t" --gtest_brief=1
  done
  scripts/build.sh fuzz
  scripts/fuzz.sh "${WHALE_FUZZ_SECONDS:-60}"
fi
echo "scripts/test.sh: all tests passed"
