#!/usr/bin/python3
"""Trains whale-kjv-tiny on CPU from prepare_data.py's output.

  /usr/bin/python3 tools/train/train.py --data DATA_DIR --out OUT_DIR [--steps N] [--seed S]

Random windows of --seq + 1 tokens from the concatenated training stream (every document
starts with BOS), AdamW, linear warm-up then cosine decay. After each step every MoE layer's
e_score_correction_bias moves by --bias-rate * sign(mean load - load) (DeepSeek-V3's
auxiliary-loss-free balancing; the bias only affects which experts are chosen). A checkpoint
(OUT_DIR/ckpt.pt) and the held-out loss are written every --ckpt-every steps and at the end, so
a partial run is usable; --max-minutes stops early (with a checkpoint) on a slow machine.

One thread by default: on this shared 2-core machine two torch threads ran 8x slower per step
than one (measured 10-17 s vs 1.3 s; OpenMP threads spin against the other jobs), and a single
thread also makes the run bit-reproducible.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tiny_model as tiny  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def heldout_loss(net, ids, seq):
    """Mean next-token loss over consecutive seq-token chunks (a training-time monitor)."""
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, seq):
            chunk = torch.from_numpy(ids[start : start + seq + 1].astype(np.int64))
            if len(chunk) < 2:
                break
            logits = net(chunk[:-1].unsqueeze(0))[0]
            total += F.cross_entropy(logits, chunk[1:], reduction="sum").item()
            count += len(chunk) - 1
    net.train()
    return total / count


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def save(net, opt, step, path):
    tmp = path + ".tmp"
    torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": step,
                "config": net.config}, tmp)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--config", default=os.path.join(HERE, "config.json"))
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--bias-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--max-minutes", type=float, default=0)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    os.makedirs(args.out, exist_ok=True)
    stream = np.fromfile(os.path.join(args.data, "train.ids"), dtype="<i4")
    held = np.fromfile(os.path.join(args.data, "heldout.ids"), dtype="<i4")
    held = np.concatenate(([0], held))  # BOS first, as whale perplexity does

    net = tiny.DeepseekV3Tiny(tiny.load_config(args.config))
    net.init_weights(args.seed)
    decay = [q for n, q in net.named_parameters() if q.dim() >= 2]
    no_decay = [q for n, q in net.named_parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    n_params = sum(q.numel() for q in net.parameters())
    log = open(os.path.join(args.out, "train.log"), "a", encoding="utf-8")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    say(f"train: {n_params} parameters, {len(stream)} training tokens, {args.steps} steps of "
        f"{args.batch}x{args.seq}, seed {args.seed}, {args.threads} thread(s)")
    t0, loss_avg = time.time(), None
    ckpt = os.path.join(args.out, "ckpt.pt")
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        starts = rng.randint(0, len(stream) - args.seq - 1, size=args.batch)
        batch = torch.from_numpy(np.stack([stream[s : s + args.seq + 1] for s in starts])
                                 .astype(np.int64))
        logits = net(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        for moe in net.moe_layers():
            moe.update_bias(args.bias_rate)
        loss_avg = loss.item() if loss_avg is None else 0.95 * loss_avg + 0.05 * loss.item()
        done = step + 1
        minutes = (time.time() - t0) / 60
        out_of_time = args.max_minutes and minutes >= args.max_minutes
        if done % 20 == 0:
            say(f"step {done} loss {loss_avg:.4f} lr {opt.param_groups[0]['lr']:.2e} "
                f"{minutes:.1f} min")
        if done % args.ckpt_every == 0 or done == args.steps or out_of_time:
            save(net, opt, done, ckpt)
            loads = [moe.last_load.tolist() for moe in net.moe_layers()]
            say(f"checkpoint step {done}: heldout loss "
                f"{heldout_loss(net, held, args.seq):.4f}, expert loads {loads}")
        if out_of_time:
            say(f"train: stopped at --max-minutes after {done} steps")
            break
    say(f"train: done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
