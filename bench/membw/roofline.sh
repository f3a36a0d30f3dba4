#!/bin/sh
# This machine's memory read bandwidth (1 thread and THREADS threads) and, per model, the decode
# roofline: weight bytes one decode step reads / bandwidth = the most tokens per second any
# engine can decode at (routed experts counted at top-k / n_experts).
#
#   bench/membw/roofline.sh WHALE_BIN [THREADS] [MODEL.gguf ...]
#
# Measure on a quiet machine: the load average is printed first.
set -eu
whale=$1
shift
threads=$(nproc)
case "${1:-}" in
  ''|*[!0-9]*) ;;
  *) threads=$1; shift ;;
esac
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $# -eq 0 ]; then
  "$whale" bench --membw -t "$threads"
fi
for m in "$@"; do
  echo "$m"
  "$whale" bench --membw -t "$threads" --model "$m"
done
