#!/usr/bin/python3
"""Quantized GGUF accuracy on a TRAINED model: the built-in default model (models/whale-kjv-tiny,
DeepSeek-V3 architecture in miniature) on its held-out text, against the float64 PyTorch
reference (tools/ref) of its HF checkpoint.

  check_quant_trained.py WHALE_BIN WORK_DIR [--measure]

The random tiny checkpoints of check_logits.py have flat logits (median top-1/top-2 gap ~0.1
nats), where any rounding flips the top token now and then; a trained model's logits are peaked
as a real model's are, so this is where issue 3's "top-1 agreement >= 98%" is asserted. For
each type, `whale convert` of the HF checkpoint is run over WINDOWS of the held-out book (one
prefill each) and compared position by position with the reference: top-1 agreement and mean
KL(reference || whale). llama.cpp on the same q8_0 file measures 0.982 top-1 and KL 1.5e-3 over
the first window (tests/ref/llamacpp_logits.py), whale 0.984 and 1.5e-3: the KL is the weights'
rounding in a 256-wide model, not whale's arithmetic.
"""

import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
REFERENCE = os.path.join(ROOT, "tools", "ref", "reference.py")
HF_DIR = os.path.join(ROOT, "models", "whale-kjv-tiny-hf")
HELDOUT = os.path.join(ROOT, "tests", "default_model", "heldout_ruth.txt")

WINDOWS = [(0, 512), (1000, 512), (2000, 512), (3000, 512)]  # (first token, length)

# (min top-1 agreement, max mean KL in nats), measured over the 2048 positions (--measure):
#   f16     1.0000  1.5e-5 (the checkpoint is f32: f16 rounds its weights)
#   q8_0    0.9893  1.0e-3     q6_k    0.9824  1.5e-3
#   q4_k_m  0.9434  8.5e-3     q4_0    0.9287  1.0e-2
#   q5_k_m  0.9673  4.0e-3 (Q5_K, and Q5_1 for the rows that do not divide into 256)
# q8_0 is the issue's >= 98%; the others are bounded a little below what was measured.
BOUNDS = {
    "f16": (0.999, 1e-4),
    "q8_0": (0.98, 3e-3),
    "q6_k": (0.97, 3.5e-3),
    "q4_k_m": (0.92, 1.8e-2),
    "q5_k_m": (0.95, 8e-3),
    "q4_0": (0.90, 2.5e-2),
}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def read_rows(path, n):
    return np.fromfile(path, dtype="<f4").reshape(n, -1).astype(np.float64)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def main():
    args = [a for a in sys.argv[1:] if a != "--measure"]
    measure = "--measure" in sys.argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    whale, work = os.path.abspath(args[0]), os.path.abspath(args[1])
    os.makedirs(work, exist_ok=True)
    ids = json.loads(run([whale, "tokenize", "--model", HF_DIR, "--file", HELDOUT]))
    windows = [ids[a : a + n] for a, n in WINDOWS]
    if any(len(w) != n for w, (_, n) in zip(windows, WINDOWS)):
        raise SystemExit(f"held-out text too short: {len(ids)} tokens")

    out = os.path.join(work, f"logits.{os.getpid()}.f32")
    refs = []
    for w in windows:
        run([PY, REFERENCE, "--model", HF_DIR, "--tokens", ",".join(map(str, w)), "--out", out])
        refs.append(read_rows(out, len(w)))
    ref = np.concatenate(refs)

    failures = []
    for qtype, (min_top1, max_kl) in BOUNDS.items():
        gguf = os.path.join(work, f"kjv.{qtype}.gguf")
        run([whale, "convert", HF_DIR, gguf, "--type", qtype])
        got = []
        for w in windows:
            run([whale, "logits", "--model", gguf, "--tokens", ",".join(map(str, w)), "--out", out])
            got.append(read_rows(out, len(w)))
        got = np.concatenate(got)
        top1 = float((got.argmax(1) == ref.argmax(1)).mean())
        lp, lq = log_softmax(ref), log_softmax(got)
        kl = float((np.exp(lp) * (lp - lq)).sum(axis=1).mean())
        ok = measure or (top1 >= min_top1 and kl <= max_kl)
        print(f"  {qtype:7s} top-1 {top1:.4f} (>= {min_top1})  mean KL {kl:.2e} (<= {max_kl:.0e})"
              f"  over {len(ref)} positions {'ok' if ok else 'FAIL'}", flush=True)
        if not ok:
            failures.append(qtype)
    os.remove(out)
    print("check_quant_trained: " + ("ok" if not failures else "FAILED " + " ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
