#!/usr/bin/python3
"""Writes the PyTorch side of the default model's acceptance checks (tests/default_model/).

  /usr/bin/python3 tools/train/make_expected.py --model HF_DIR --heldout TEXT --out JSON

Everything comes from the trainer's model (tools/train/evaluate.py, float64) and from Hugging
Face tokenizers (node, tools/train/hf_encode.mjs), never from whale:
  heldout_ids      the held-out text's ids (BOS first), as whale perplexity must tokenize it
  perplexity       exp(mean NLL) over whale perplexity's windows of --ctx tokens
  prompts          5 prompts (plain text and chat-template renders): their ids and the 64 ids
                   greedy decoding picks after them
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import conversations  # noqa: E402
import evaluate  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "../.."))
BOS = "<｜begin▁of▁sentence｜>"
PLAIN_PROMPTS = ["Ruth 2\n\n1 And Naomi had", "Genesis 1\n\n1 In the beginning",
                 "John 3\n\n16 For God so loved"]
CHAT_PROMPTS = ["Recite Psalms 23:1.", "Give me a verse about peace."]
GREEDY_TOKENS = 64


def hf_encode(tokenizer_json, texts):
    with tempfile.TemporaryDirectory() as tmp:
        docs = os.path.join(tmp, "docs.jsonl")
        with open(docs, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
        out = os.path.join(tmp, "ids")
        subprocess.run(["node", os.path.join(HERE, "hf_encode.mjs"), tokenizer_json, docs, out],
                       check=True)
        ids = np.fromfile(out, dtype="<i4").tolist()
        with open(out + ".lengths", encoding="utf-8") as f:
            lengths = [int(x) for x in f.read().split()]
    result, pos = [], 0
    for n in lengths:
        result.append(ids[pos : pos + n])
        pos += n
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--ctx", type=int, default=256)
    args = p.parse_args()
    torch.set_num_threads(1)
    with open(args.heldout, encoding="utf-8") as f:
        heldout = f.read()
    template = conversations.load_template(os.path.join(args.model, "tokenizer_config.json"),
                                           from_config=True)
    chat_texts = [template.render(messages=[{"role": "user", "content": q}],
                                  add_generation_prompt=True, bos_token=BOS)
                  for q in CHAT_PROMPTS]
    # Plain prompts get BOS in front (the model's add_bos_token), as whale run --raw does.
    encoded = hf_encode(os.path.join(args.model, "tokenizer.json"),
                        [heldout] + PLAIN_PROMPTS + chat_texts)
    heldout_ids = [0] + encoded[0]
    net = evaluate.load(args.model)
    total, count = evaluate.window_nll(net, heldout_ids, args.ctx)
    prompts = []
    for i, (text, ids) in enumerate(zip(PLAIN_PROMPTS + CHAT_PROMPTS, encoded[1:])):
        chat = i >= len(PLAIN_PROMPTS)
        ids = ids if chat else [0] + ids
        prompts.append({"text": text, "chat": chat, "ids": ids,
                        "greedy": evaluate.greedy(net, ids, GREEDY_TOKENS)})
    result = {
        "model": os.path.basename(os.path.normpath(args.model)),
        "ctx": args.ctx, "perplexity": math.exp(total / count), "tokens_scored": count,
        "heldout_ids": heldout_ids, "prompts": prompts,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"make_expected: perplexity {result['perplexity']:.4f} over {count} tokens "
          f"(ctx {args.ctx}) -> {args.out}")


if __name__ == "__main__":
    main()
