#!/usr/bin/python3
"""Golden test of whale's forward pass against the independent float64 PyTorch reference
(tools/ref) on tiny random checkpoints of every supported family.

  check_logits.py WHALE_BIN WORK_DIR [--measure]

Per preset (deepseek-v2-lite, deepseek-v3, deepseek-v3 --fp8 --mtp, qwen2, llama):
  - HF directory and `whale convert`ed GGUF f32: every position's logits within
    1e-4 * max|logit| of the reference (whale computes in f32 with f64 dot products; measured
    error is ~1e-7 relative, ~1e-6 for FP8 weights), in prefill, in --decode with absorbed and
    with expanded MLA, and prefill with absorbed MLA
  - f16 / bf16 / q8_0 / q4_0 / q4_k_m GGUF: top-1 agreement with the reference and mean
    KL(reference || whale) over all positions within the bounds of QUANT_BOUNDS (measured on
    these models; see the table's comment)
  - errors: context overflow, bad token id, bad --mla value -> exit 1 with one 'whale:' line
--measure prints the quantized metrics without asserting (how the bounds were set).
"""

import json
import os
import subprocess
import sys
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
MAKE_TINY = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
REFERENCE = os.path.join(ROOT, "tools", "ref", "reference.py")

# (name, generator flags, check quantized GGUF). The FP8 model's weights are random E4M3 codes
# (magnitudes up to ~5, log-uniform): a chaotic network where rounding the weights to bf16
# already flips 19% of the top-1 tokens, so it checks the exact FP8 path only.
PRESETS = [
    ("deepseek-v2-lite", [], True),
    ("deepseek-v3", [], True),
    ("deepseek-v3-fp8", ["--fp8", "--mtp"], False),
    ("qwen2", [], True),
    ("llama", [], True),
]

EXACT_TOLERANCE = 1e-4  # relative to max |logit|

# Quantized GGUF vs the float64 reference: (min top-1 agreement, max mean KL in nats).
# Measured with --measure (96 positions per model; worst over the four presets):
#   f16, bf16  top-1 1.000, KL ~1e-15 (the tiny checkpoints are stored in bf16: both exact)
#   q8_0       top-1 0.958 (deepseek-v3) .. 0.990, KL 1.1e-5 .. 5.4e-4 (deepseek-v3)
#   q4_0       top-1 0.594 .. 0.698, KL 2.3e-3 .. 1.5e-2 (deepseek-v3)
#   q4_k_m     top-1 0.604 .. 0.875, KL 4.2e-4 .. 7.2e-3 (deepseek-v3)
# Random tiny models have flat logits (median top-1/top-2 gap ~0.1 nats), so top-1 flips far
# more easily than in a trained model: llama.cpp itself (tests/ref/llamacpp_logits.py) on the
# same q8_0 files agrees with the reference on 0.917 (v2-lite) .. 0.990 (qwen2) of positions,
# with KL 2.1e-5 .. 8.9e-4; whale tracks it (0.948 .. 0.979, 1.1e-5 .. 4.1e-4). Bounds: about
# 3x the worst measured KL, top-1 a margin below the worst measured agreement.
# The ">= 98% top-1" is asserted where logits are peaked as in a real model: on the
# trained default model (tests/model/check_quant_trained.py: q8_0 0.989 over 2048 positions).
QUANT_BOUNDS = {
    "f16": (0.98, 1e-6),
    "bf16": (0.98, 1e-6),
    "q8_0": (0.90, 2e-3),
    "q4_0": (0.45, 5e-2),
    "q4_k_m": (0.45, 2.5e-2),
}

N_TOKENS = 96


def run(cmd, expect_ok=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if expect_ok and r.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r


def read_logits(path, n):
    v = np.fromfile(path, dtype="<f4")
    if v.size % n:
        raise SystemExit(f"{path}: {v.size} floats is not a multiple of {n} rows")
    return v.reshape(n, -1).astype(np.float64)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def mean_kl(ref, got):
    lp, lq = log_softmax(ref), log_softmax(got)
    return float((np.exp(lp) * (lp - lq)).sum(axis=1).mean())


class Checker:
    def __init__(self, whale, work, measure):
        self.whale, self.work, self.measure = whale, work, measure
        self.failures = []

    def logits(self, model, tokens, out, *extra):
        run([self.whale, "logits", "--model", model, "--tokens", tokens, "--out", out, *extra])
        return read_logits(out, len(tokens.split(",")))

    def expect_close(self, label, got, ref):
        err = np.abs(got - ref).max() / np.abs(ref).max()
        ok = err <= EXACT_TOLERANCE
        print(f"  {label:38s} max|diff|/max|logit| = {err:.2e} {'ok' if ok else 'FAIL'}")
        if not ok:
            self.failures.append(label)

    def expect_error(self, label, cmd):
        r = run(cmd, expect_ok=False)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 1 and len(lines) >= 1 and lines[-1].startswith("whale: ")
        print(f"  {label:38s} {lines[-1] if lines else '(no message)'} {'ok' if ok else 'FAIL'}")
        if not ok:
            self.failures.append(label)

    def preset(self, name, gen_args, check_quantized):
        d = os.path.join(self.work, name)
        hf = os.path.join(d, "hf")
        os.makedirs(d, exist_ok=True)
        run([PY, MAKE_TINY, name.replace("-fp8", ""), hf, *gen_args])
        with open(os.path.join(hf, "config.json")) as f:
            vocab = int(json.load(f)["vocab_size"])
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        tokens = ",".join(str(t) for t in rng.integers(0, vocab, N_TOKENS))
        ref_path = os.path.join(d, "ref.f32")
        run([PY, REFERENCE, "--model", hf, "--tokens", tokens, "--out", ref_path])
        ref = read_logits(ref_path, N_TOKENS)
        out = os.path.join(d, "whale.f32")
        print(f"{name}: {N_TOKENS} tokens, vocab {vocab}")

        self.expect_close("hf prefill", self.logits(hf, tokens, out), ref)
        self.expect_close("hf decode (absorbed)",
                          self.logits(hf, tokens, out, "--decode", "--mla", "absorbed"), ref)
        if name.startswith("deepseek"):
            self.expect_close("hf decode (expanded)",
                              self.logits(hf, tokens, out, "--decode", "--mla", "expanded"), ref)
            self.expect_close("hf prefill (absorbed)",
                              self.logits(hf, tokens, out, "--mla", "absorbed"), ref)
        gguf = os.path.join(d, "f32.gguf")
        run([self.whale, "convert", hf, gguf, "--type", "f32"])
        self.expect_close("gguf f32 prefill", self.logits(gguf, tokens, out), ref)
        self.expect_close("gguf f32 decode", self.logits(gguf, tokens, out, "--decode"), ref)

        for qtype, (min_top1, max_kl) in QUANT_BOUNDS.items() if check_quantized else []:
            q = os.path.join(d, f"{qtype}.gguf")
            run([self.whale, "convert", hf, q, "--type", qtype])
            got = self.logits(q, tokens, out)
            top1 = float((got.argmax(1) == ref.argmax(1)).mean())
            kl = mean_kl(ref, got)
            ok = self.measure or (top1 >= min_top1 and kl <= max_kl)
            print(f"  gguf {qtype:33s} top-1 {top1:.3f} (>= {min_top1}) mean KL {kl:.2e} "
                  f"(<= {max_kl:.0e}) {'ok' if ok else 'FAIL'}")
            if not ok:
                self.failures.append(f"{name} {qtype}")

    def errors(self):
        hf = os.path.join(self.work, "qwen2", "hf")
        out = os.path.join(self.work, "err.f32")
        print("errors:")
        self.expect_error("context overflow", [self.whale, "logits", "--model", hf, "--tokens",
                                               "1,2,3", "--out", out, "--context", "2"])
        self.expect_error("token id outside vocab", [self.whale, "logits", "--model", hf,
                                                     "--tokens", "1,999999", "--out", out])
        self.expect_error("malformed token list", [self.whale, "logits", "--model", hf,
                                                   "--tokens", "1,,2", "--out", out])
        self.expect_error("bad --mla", [self.whale, "logits", "--model", hf, "--tokens", "1",
                                        "--out", out, "--mla", "other"])
        self.expect_error("missing model", [self.whale, "logits", "--model",
                                            os.path.join(self.work, "nope.gguf"), "--tokens",
                                            "1", "--out", out])


def main():
    if len(sys.argv) < 3:
        raise SystemExit("usage: check_logits.py WHALE_BIN WORK_DIR [--measure]")
    checker = Checker(sys.argv[1], sys.argv[2], "--measure" in sys.argv[3:])
    os.makedirs(sys.argv[2], exist_ok=True)
    for name, gen_args, check_quantized in PRESETS:
        checker.preset(name, gen_args, check_quantized)
    checker.errors()
    if checker.failures:
        raise SystemExit("FAILED: " + ", ".join(checker.failures))
    print("all logits checks passed")


if __name__ == "__main__":
    main()
