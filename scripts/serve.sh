#!/usr/bin/env bash
# Installs dependencies, builds whale, and starts `whale serve` on the built-in default model.
# Extra arguments are passed to `whale serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
WHALE_SKIP_NPM=1 scripts/install-deps.sh
scripts/build.sh release
exec build/whale serve "$@"
