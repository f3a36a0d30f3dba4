#!/usr/bin/python3
"""Acceptance checks of the built-in default model (models/whale-kjv-tiny*) against whale.

  /usr/bin/python3 tests/default_model/check_default_model.py WHALE_BIN

The PyTorch side is committed in tests/default_model/expected.json (tools/train/make_expected.py:
the trainer's model in float64, ids from Hugging Face tokenizers); check_pytorch_expected.py
recomputes it. Checks, each printing what it measured:
  1. the committed files exist and are <= 25 MB each;
  2. whale tokenizes the held-out slice (Ruth, never trained on) exactly as HF tokenizers did,
     and a sample of training documents (chat renders with special tokens and reasoning,
     train_sample.jsonl from tools/train/make_token_sample.py) with --special;
  3. whale perplexity on the held-out slice is within 1% of the PyTorch value for the HF
     checkpoint and the f16 GGUF, within 5% for a q8_0 made by `whale quantize`;
  4. greedy decoding agrees for 64 tokens on at least 4 of 5 prompts (HF and f16 GGUF): the
     prompt plus PyTorch's greedy ids go through `whale logits` (one prefill for the HF
     checkpoint; --decode, the KV-cache path generation uses, for the GGUF) and whale's argmax
     must equal PyTorch's next id at each of the 64 steps, which is exactly "whale's greedy
     continuation equals PyTorch's";
  5. `whale run -p` answers a chat question with a reasoning part and an answer part and stops
     at the end of the turn (before --max-tokens), exit 0.
Exit 0 only when all pass.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
HF_DIR = os.path.join(ROOT, "models/whale-kjv-tiny-hf")
GGUF = os.path.join(ROOT, "models/whale-kjv-tiny-f16.gguf")
HELDOUT = os.path.join(ROOT, "tests/default_model/heldout_ruth.txt")
EXPECTED = os.path.join(ROOT, "tests/default_model/expected.json")
SAMPLE = os.path.join(ROOT, "tests/default_model/train_sample.jsonl")
MAX_BYTES = 25 * 1000 * 1000

failures = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message, flush=True)
    if not ok:
        failures.append(message)


def whale(args, check_rc=True):
    r = subprocess.run([WHALE] + args, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        raise SystemExit(f"whale {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def perplexity(model, ctx):
    out = whale(["perplexity", "--model", model, "--file", HELDOUT, "--ctx", str(ctx)]).stdout
    m = re.search(r"perplexity: ([0-9.]+) .*\((\d+) tokens scored", out)
    if not m:
        raise SystemExit(f"unexpected whale perplexity output: {out!r}")
    return float(m.group(1)), int(m.group(2))


def greedy_agreement(model, prompt, tmp, decode):
    """Number of the 64 greedy steps where whale's argmax equals PyTorch's id (prefix length)."""
    ids = prompt["ids"] + prompt["greedy"][:-1]
    out = os.path.join(tmp, "logits.f32")
    whale(["logits", "--model", model, "--tokens", ",".join(map(str, ids)), "--out", out]
          + (["--decode"] if decode else []))
    logits = np.fromfile(out, dtype="<f4").reshape(len(ids), -1)
    picks = logits[len(prompt["ids"]) - 1 :].argmax(axis=1).tolist()
    agree = 0
    for got, want in zip(picks, prompt["greedy"]):
        if got != want:
            break
        agree += 1
    return agree


def main():
    global WHALE
    if len(sys.argv) != 2:
        raise SystemExit("usage: check_default_model.py WHALE_BIN")
    WHALE = sys.argv[1]
    with open(EXPECTED, encoding="utf-8") as f:
        expected = json.load(f)

    files = [os.path.join(HF_DIR, n) for n in ("config.json", "model.safetensors",
                                                "tokenizer.json", "tokenizer_config.json",
                                                "generation_config.json")] + [GGUF]
    for path in files:
        size = os.path.getsize(path) if os.path.exists(path) else -1
        check(0 <= size <= MAX_BYTES, f"{os.path.relpath(path, ROOT)}: {size} bytes")

    got = json.loads(whale(["tokenize", "--model", HF_DIR, "--file", HELDOUT]).stdout)
    want = expected["heldout_ids"][1:]  # expected starts with the BOS perplexity adds
    same = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    check(got == want, f"held-out tokenization: whale {len(got)} ids, HF {len(want)} ids"
          + ("" if got == want else f", first difference at {same}"))

    with open(SAMPLE, encoding="utf-8") as f:
        sample = [json.loads(line) for line in f if line.strip()]
    text = "".join(json.dumps(row["text"], ensure_ascii=False) + "\n" for row in sample)
    for name, model in (("HF", HF_DIR), ("f16 GGUF", GGUF)):
        r = subprocess.run([WHALE, "tokenize", "--model", model, "--special", "--jsonl"],
                           input=text, capture_output=True, text=True)
        got = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        same = sum(g == row["ids"] for g, row in zip(got, sample))
        check(r.returncode == 0 and same == len(sample),
              f"training-text tokenization ({name}, --special): {same} of {len(sample)} "
              f"documents identical to HF ({sum(len(row['ids']) for row in sample)} ids)")

    ctx, ref = expected["ctx"], expected["perplexity"]
    with tempfile.TemporaryDirectory() as tmp:
        q8 = os.path.join(tmp, "q8_0.gguf")
        whale(["quantize", GGUF, q8, "q8_0"])
        for name, model, tol in (("HF", HF_DIR, 0.01), ("f16 GGUF", GGUF, 0.01),
                                 ("q8_0 GGUF", q8, 0.05)):
            ppl, scored = perplexity(model, ctx)
            rel = abs(ppl - ref) / ref
            check(rel <= tol and scored == expected["tokens_scored"],
                  f"perplexity {name}: whale {ppl:.4f} vs PyTorch {ref:.4f} "
                  f"(rel {rel:.2e}, limit {tol}), {scored} tokens scored, ctx {ctx}")

        for name, model, decode in (("HF, prefill", HF_DIR, False),
                                    ("f16 GGUF, decode", GGUF, True)):
            agree = [greedy_agreement(model, p, tmp, decode) for p in expected["prompts"]]
            full = sum(a == len(p["greedy"]) for a, p in zip(agree, expected["prompts"]))
            check(full >= 4, f"greedy 64 tokens {name}: {full} of {len(agree)} prompts agree "
                  f"fully (agreeing prefix per prompt: {agree})")

    max_tokens = 200
    r = whale(["run", "--model", GGUF, "-p", "Recite Genesis 1:3.", "--temp", "0",
               "--max-tokens", str(max_tokens), "--verbose"], check_rc=False)
    m = re.match(r"<think>\n(.*?)\n?</think>\n(.*)", r.stdout, re.S)
    reasoning, answer = (m.group(1).strip(), m.group(2).strip()) if m else ("", "")
    g = re.search(r"generation: (\d+) tokens", r.stderr)
    generated = int(g.group(1)) if g else -1
    print(f"     whale run output: {r.stdout!r}")
    check(r.returncode == 0 and bool(reasoning) and bool(answer) and 0 < generated < max_tokens,
          f"whale run: exit {r.returncode}, reasoning {len(reasoning)} chars, answer "
          f"{len(answer)} chars, {generated} tokens generated (max {max_tokens})")

    if failures:
        print(f"check_default_model: {len(failures)} check(s) failed")
        return 1
    print("check_default_model: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
