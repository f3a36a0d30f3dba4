#!/usr/bin/env bash
# Configures and builds whale. Usage: scripts/build.sh [release|asan|fuzz]  (default: release)
# release -> build/ (the binary is build/whale), asan -> build-asan/, fuzz -> build-fuzz/ (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
jobs=${WHALE_JOBS:-$(nproc)}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DWHALE_SANITIZE=ON) ;;
  fuzz) dir=build-fuzz; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHALE_FUZZ=ON
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
targets=()
if [ "$kind" = fuzz ]; then
  # Only the libFuzzer targets (one per fuzz/*.cpp) and the libraries they link.
  for f in fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
ninja -C "$dir" -j "$jobs" "${targets[@]}"
