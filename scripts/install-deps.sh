#!/usr/bin/env bash
# Installs everything whale needs to build and test, from Debian's archive and the npm registry.
# Idempotent; run as root on a fresh Debian 12. Set WHALE_SKIP_NPM=1 to skip the reference tools.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compiler, CMake, Ninja, Highway (SIMD dispatch), JSON, tests, fuzzing (clang + libFuzzer).
# Reference implementations for tests (never used at run time): torch, numpy, jinja2 for Debian's
# own python3 (/usr/bin/python3), and Node.js + npm for Hugging Face's tokenizers and llama.cpp.
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libhwy-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev clang-format
  libsqlite3-dev libboost-dev libboost-system-dev
  python3 python3-numpy python3-torch python3-jinja2
)
# Node.js + npm: any install will do (some machines carry NodeSource's nodejs, which bundles npm
# and conflicts with Debian's npm package); Debian's packages only when neither is present.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${WHALE_SKIP_NPM:-0}" != 1 ]; then
  # --ignore-scripts: no package may download or compile anything at install time (llama.cpp comes
  # prebuilt in @node-llama-cpp/linux-x64); --omit=optional skips 600 MB of GPU builds.
  if [ ! -f tools/npm/node_modules/.whale-installed ] ||
    [ tools/npm/package-lock.json -nt tools/npm/node_modules/.whale-installed ]; then
    (cd tools/npm && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
    touch tools/npm/node_modules/.whale-installed
  fi
fi
echo "install-deps: ok"
