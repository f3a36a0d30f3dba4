#!/usr/bin/env bash
# Retrains the built-in default model whale-kjv-tiny from scratch, deterministically (fixed
# seeds, one torch thread), and rewrites everything committed from it:
#   models/whale-kjv-tiny-hf/        Hugging Face checkpoint (config, safetensors, tokenizer)
#   models/whale-kjv-tiny-f16.gguf   `whale convert --type f16` of it
#   tests/default_model/heldout_ruth.txt, expected.json   the acceptance checks' PyTorch side
# Usage: tools/train/retrain.sh [WORK_DIR]   (default build/retrain; WHALE_BIN=path of whale,
# default build/whale, built with scripts/build.sh release when missing).
# Needs Debian's bible-kjv-text (the KJV text) and libopenblas0-pthread (Debian's torch links
# the reference BLAS, 12x slower here); both are installed when missing (as root). CI never runs
# this. See docs/DEFAULT_MODEL.md for the measured time.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-build/retrain}
whale=${WHALE_BIN:-build/whale}
py=/usr/bin/python3

missing=()
for p in bible-kjv-text libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -x "$whale" ] || scripts/build.sh release

# OpenBLAS for this process only (the system's libblas.so.3 alternative is left as it is).
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

start=$(date +%s)
mkdir -p "$work"
$py tools/train/prepare_data.py "$work/data" --seed 1234
$py tools/train/train.py --data "$work/data" --out "$work/run" --seed 1234 --max-minutes 50
$py tools/train/export.py --ckpt "$work/run/ckpt.pt" --data "$work/data" --out models/whale-kjv-tiny-hf
cp "$work/data/heldout.txt" tests/default_model/heldout_ruth.txt
$py tools/train/make_token_sample.py "$work/data" tests/default_model/train_sample.jsonl
"$whale" convert models/whale-kjv-tiny-hf models/whale-kjv-tiny-f16.gguf --type f16
$py tools/train/make_expected.py --model models/whale-kjv-tiny-hf \
  --heldout tests/default_model/heldout_ruth.txt --out tests/default_model/expected.json
echo "retrain: done in $(( ($(date +%s) - start) / 60 )) min"
