#!/usr/bin/python3
"""The trainer's PyTorch model on an exported checkpoint: perplexity over whale's windows, greedy.

  /usr/bin/python3 tools/train/evaluate.py --model HF_DIR --ids-file F --ctx N
      prints "perplexity P tokens_scored K windows W" using whale perplexity's windowing:
      floor(n / ctx) disjoint windows of the ids (which start with BOS), each window's first
      id replaced by BOS, logits at positions ctx/2 .. ctx-2 scoring ids ctx/2+1 .. ctx-1.
  /usr/bin/python3 tools/train/evaluate.py --model HF_DIR --greedy 1,2,3 --n 64
      prints the 64 greedily chosen ids after the prompt ids, comma-separated.

Computed in float64 (the trained float32 weights upcast), so the value is the model's, not
float32 rounding's.
"""

import argparse
import math
import os
import sys

import torch
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "../ref"))

import tiny_model as tiny  # noqa: E402
from safetensors_io import Checkpoint  # noqa: E402

CONFIG_KEYS = (
    "vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size",
    "num_hidden_layers", "first_k_dense_replace", "num_attention_heads", "q_lora_rank",
    "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "n_routed_experts",
    "num_experts_per_tok", "n_shared_experts", "n_group", "topk_group", "norm_topk_prob",
    "routed_scaling_factor", "rms_norm_eps", "rope_theta", "max_position_embeddings")


def load(model_dir, dtype=torch.float64):
    raw = tiny.load_config(os.path.join(model_dir, "config.json"))
    net = tiny.DeepseekV3Tiny({k: raw[k] for k in CONFIG_KEYS})
    ckpt = Checkpoint(model_dir)
    state = {name: torch.from_numpy(ckpt.read(name).copy()) for name in ckpt.names()}
    net.load_state_dict(state, strict=True)
    net.eval()
    return net.to(dtype)


def window_nll(net, ids, ctx, bos=0):
    """(sum of NLL, count) over whale perplexity's windows."""
    total, count, first = 0.0, 0, ctx // 2
    with torch.no_grad():
        for w in range(len(ids) // ctx):
            window = list(ids[w * ctx : (w + 1) * ctx])
            window[0] = bos
            x = torch.tensor(window, dtype=torch.long)
            logits = net(x.unsqueeze(0))[0]
            logp = F.log_softmax(logits[first : ctx - 1].to(torch.float64), dim=-1)
            total -= logp.gather(1, x[first + 1 :].unsqueeze(1)).sum().item()
            count += ctx - 1 - first
    return total, count


def greedy(net, prompt, n):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            logits = net(torch.tensor(ids, dtype=torch.long).unsqueeze(0))[0, -1]
            ids.append(int(torch.argmax(logits)))
    return ids[len(prompt) :]


def parse_ids(text):
    return [int(t) for t in text.replace(",", " ").split()]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--ids-file")
    p.add_argument("--ctx", type=int, default=128)
    p.add_argument("--greedy")
    p.add_argument("--n", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    net = load(args.model)
    if args.greedy:
        print(",".join(map(str, greedy(net, parse_ids(args.greedy), args.n))))
        return
    with open(args.ids_file, encoding="utf-8") as f:
        ids = parse_ids(f.read())
    total, count = window_nll(net, ids, args.ctx)
    print(f"perplexity {math.exp(total / count):.6f} tokens_scored {count} "
          f"windows {len(ids) // args.ctx}")


if __name__ == "__main__":
    main()
