#!/usr/bin/python3
"""Checks `whale perplexity` against the independent PyTorch reference (tools/ref).

On tiny random checkpoints (deepseek-v3: with BOS; qwen2: without), the windows llama.cpp's
perplexity uses are recomputed here from the reference's float64 logits: [BOS +] the text's
tokens, cut into floor(n / ctx) windows, the first token of each replaced by BOS when the model
wants one, positions ctx/2 .. ctx-2 scored. whale's perplexity must agree to 1e-4 relative
(f32 engine vs f64 reference on a 2-layer model), for a window evaluated in one batch and one
split into small batches.

  perplexity_check.py WHALE_BIN WORK_DIR
"""

import json
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "ref"))

import torch  # noqa: E402

from reference import DTYPES, load_model  # noqa: E402

TEXT = ("The quick brown fox jumps over the lazy dog. " * 3 +
        "Perplexity measures how well a model predicts text; lower is better. " * 2 +
        "Numbers 12345 and symbols #@! mix with ünïcödé and 中文 text.\n")


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r.stdout


def reference_ppl(model, tokens, bos, ctx):
    nll, count = 0.0, 0
    for w in range(len(tokens) // ctx):
        window = tokens[w * ctx:(w + 1) * ctx]
        if bos is not None:
            window[0] = bos
        logits = model.forward(window).to(torch.float64)
        log_probs = torch.log_softmax(logits, dim=-1)
        for j in range(ctx // 2, ctx - 1):
            nll -= log_probs[j, window[j + 1]].item()
            count += 1
    return math.exp(nll / count), count


def check_preset(whale, work, preset):
    model_dir = os.path.join(work, "tiny-" + preset)
    run(["/usr/bin/python3", os.path.join(ROOT, "tools/gen/make_tiny_hf.py"), preset, model_dir])
    text_path = os.path.join(work, "text.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(TEXT)

    ids = json.loads(run([whale, "tokenize", "--model", model_dir, "--file", text_path]))
    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    bos = None
    if config.get("add_bos_token"):
        bos_ids = json.loads(subprocess.run(
            [whale, "tokenize", "--model", model_dir, "--special"], input=config["bos_token"],
            capture_output=True, text=True, check=True).stdout)
        if len(bos_ids) != 1:
            sys.exit(f"FAIL: BOS text {config['bos_token']!r} is not one token: {bos_ids}")
        bos = bos_ids[0]
    tokens = ([bos] if bos is not None else []) + ids

    model = load_model(model_dir, DTYPES["float64"], "expanded", True)
    failures = 0
    for ctx, batch in ((16, 512), (16, 5), (40, 512)):
        want, count = reference_ppl(model, list(tokens), bos, ctx)
        out = run([whale, "perplexity", "--model", model_dir, "--file", text_path, "--ctx",
                   str(ctx), "--batch", str(batch)])
        m = re.match(r"perplexity: ([0-9.]+) \+/- [0-9.]+ \((\d+) tokens scored", out)
        if not m:
            sys.exit(f"FAIL: unexpected output: {out!r}")
        got, got_count = float(m.group(1)), int(m.group(2))
        ok = got_count == count and abs(got - want) <= 1e-4 * want + 1e-4
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {preset} (BOS {bos is not None}) ctx {ctx} batch {batch}: "
              f"whale {got:.4f} ({got_count} tokens), reference {want:.4f} ({count} tokens)")
    return failures


def main():
    whale, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    # deepseek-v3 wants a BOS (replaced into each window); qwen2 does not.
    failures = sum(check_preset(whale, work, p) for p in ("deepseek-v3", "qwen2"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
