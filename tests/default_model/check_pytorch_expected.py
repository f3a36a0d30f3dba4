#!/usr/bin/python3
"""Recomputes the PyTorch side of tests/default_model/expected.json from the committed checkpoint.

  /usr/bin/python3 tests/default_model/check_pytorch_expected.py

expected.json is what check_default_model.py holds whale to, so it must be the committed
model's own numbers: the trainer's model (tools/train/tiny_model.py, float64) is loaded from
models/whale-kjv-tiny-hf and must reproduce the held-out perplexity (relative 1e-9) and, for
every prompt, pick the committed greedy ids (one forward pass over prompt + greedy ids: the
argmax after each prefix is the next greedy id). It also checks that the trainer's model and
the project's independent reference forward pass (tools/ref) give the same logits, i.e. that
the trainer really is DeepSeek-V3's architecture in DeepSeek's weight layout.
"""

import json
import math
import os
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "tools/train"))
sys.path.insert(0, os.path.join(ROOT, "tools/ref"))

import evaluate  # noqa: E402
from reference import load_model  # noqa: E402

HF_DIR = os.path.join(ROOT, "models/whale-kjv-tiny-hf")


def main():
    torch.set_num_threads(1)
    with open(os.path.join(ROOT, "tests/default_model/expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    failures = 0
    net = evaluate.load(HF_DIR)

    total, count = evaluate.window_nll(net, expected["heldout_ids"], expected["ctx"])
    ppl = math.exp(total / count)
    rel = abs(ppl - expected["perplexity"]) / expected["perplexity"]
    ok = rel < 1e-9 and count == expected["tokens_scored"]
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} held-out perplexity {ppl:.6f} vs expected "
          f"{expected['perplexity']:.6f} (rel {rel:.1e}), {count} tokens")

    for p in expected["prompts"]:
        ids = p["ids"] + p["greedy"][:-1]
        with torch.no_grad():
            logits = net(torch.tensor([ids]))[0]
        picks = logits[len(p["ids"]) - 1 :].argmax(dim=-1).tolist()
        ok = picks == p["greedy"]
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} greedy ids after {p['text']!r}")

    ids = expected["prompts"][-1]["ids"] + expected["prompts"][-1]["greedy"]
    with torch.no_grad():
        mine = net(torch.tensor([ids]))[0]
    ref = load_model(HF_DIR).forward(ids)
    diff = (mine - ref).abs().max().item() / ref.abs().max().item()
    ok = diff < 1e-12
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} trainer model vs tools/ref reference: max |diff| / "
          f"max |logit| = {diff:.1e} over {len(ids)} positions")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
