#!/usr/bin/python3
"""Cross-checks the PyTorch reference against llama.cpp, an independent implementation.

For each tiny preset (float32 weights; the FP8 variant keeps E4M3 + block scales), the HF
directory is converted with `whale convert --type f32`, llama.cpp computes every position's
logits (tests/ref/llamacpp_logits.py: float32 KV cache, flash attention off), and the result is
compared with tools/ref in float64. Both sides are exact up to llama.cpp's float32 arithmetic,
so the tolerance is tight: an error in rope layout, YaRN, MLA, routing or scaling moves logits by
orders of magnitude more.

  crosscheck_llamacpp.py WHALE_BIN [WORK_DIR]
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "ref"))
sys.path.insert(0, HERE)

import llamacpp_logits  # noqa: E402
from model import load_model  # noqa: E402

PY = "/usr/bin/python3"
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
CASES = [
    ("deepseek-v2-lite", []),
    ("deepseek-v3", []),
    ("deepseek-v3", ["--fp8", "--mtp", "--hidden", "160"]),
    ("qwen2", []),
    ("qwen2", ["--tie"]),
    ("llama", []),
]
# Long enough for YaRN's interpolated frequencies and llama3's scaled bands to matter.
IDS = [(i * 37 + 11) % 300 for i in range(48)]
TOLERANCE = 1e-5  # of max |logit|, or 10x the model's own f32 noise; measured ~3e-7


def run_case(whale, work, preset, flags):
    name = preset + "".join(flags).replace("-", "_")
    hf_dir = os.path.join(work, name)
    gguf = hf_dir + ".gguf"
    subprocess.run([PY, GEN, preset, hf_dir, "--dtype", "f32", *flags], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([whale, "convert", hf_dir, gguf, "--type", "f32"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ref = load_model(hf_dir).forward(IDS).numpy()
    # The float32 noise floor of this particular model: the reference itself in float32.
    # Large FP8 weights amplify rounding (measured 2.5e-5 there, ~3e-7 elsewhere).
    ref32 = load_model(hf_dir, dtype=torch.float32).forward(IDS).numpy()
    noise = np.abs(ref32 - ref).max() / np.abs(ref).max()
    theirs = run_llamacpp(gguf, work)
    err = np.abs(theirs.astype(np.float64) - ref).max() / np.abs(ref).max()
    ok = theirs.shape == ref.shape and err <= max(TOLERANCE, 10 * noise)
    print(f"{'ok  ' if ok else 'FAIL'} {name:32s} max |llama.cpp - ref| / max |ref| = {err:.2e}"
          f" (reference f32 vs f64: {noise:.2e})")
    return ok


def run_llamacpp(gguf, work):
    # In a child process: llama.cpp logs to stderr and keeps global state per process.
    out = gguf + ".f32"
    ids = ",".join(map(str, IDS))
    r = subprocess.run([PY, llamacpp_logits.__file__, gguf, ids, out], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"llama.cpp failed on {gguf}: {r.stderr[-2000:]}")
    return np.fromfile(out, dtype="<f4").reshape(len(IDS), -1)


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    whale = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        work = sys.argv[2] if len(sys.argv) == 3 else tmp
        os.makedirs(work, exist_ok=True)
        results = [run_case(whale, work, preset, flags) for preset, flags in CASES]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
