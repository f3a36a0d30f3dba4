#!/usr/bin/env bash
# Runs each libFuzzer target in build-fuzz/ for SECONDS (default 60), seeded from its corpus in
# tests/data/ (hostile files, tokenizer corpus, templates). Any crash fails the run; the crashing
# input is left in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
mkdir -p build-fuzz/crashes
status=0
for target in build-fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  seeds=()
  case "$name" in
    fuzz_gguf) seeds=(tests/data/hostile/gguf) ;;
    fuzz_safetensors) seeds=(tests/data/hostile/safetensors) ;;
    fuzz_tokenizer) seeds=(tests/data/tokenizer) ;;
    fuzz_template) seeds=(tests/data/templates) ;;
  esac
  work=build-fuzz/corpus/$name
  mkdir -p "$work"
  existing=()
  for s in "${seeds[@]}"; do [ -d "$s" ] && existing+=("$s"); done
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix=build-fuzz/crashes/"$name"- -print_final_stats=0 "$work" "${existing[@]}" \
    >build-fuzz/"$name".log 2>&1; then
    echo "fuzz: $name FAILED (see build-fuzz/$name.log)"
    tail -40 build-fuzz/"$name".log
    status=1
  else
    grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' build-fuzz/"$name".log | tail -1 || true
  fi
done
exit $status
