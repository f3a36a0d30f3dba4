#!/usr/bin/python3
"""How whale's speed scales with the context (issue 5, "Scaling"), next to llama.cpp's.

  run.py --whale BUILD/whale --model M.gguf [-t 2] [--prompts 128,512,1024,2048,4096]
         [-n 16] [--kv-type f32|f16|bf16] [--no-llama]

For each prompt length p: `whale bench -p p -n N` (pp = the p-token prompt as one batch from an
empty cache; tg = N tokens decoded right after it, so at context p .. p + N) and llama.cpp
(bench/vs-llamacpp/llamacpp_bench.py) with the same settings. Printed per row: pp and tg tok/s
of both and their ratios, and the KV-cache bytes one decoded token reads (per layer: MLA reads
kv_lora_rank + qk_rope_head_dim values per cached token, llama/qwen2 2 x n_kv_heads x
head_dim; 4 bytes each in whale's default f32 cache, 2 with --kv-type f16 or bf16), which is
what grows with the context. llama.cpp keeps its default f16 cache.

A 2-layer model of a real shape (bench/vs-llamacpp/make_model.py --layers 2) keeps the long
prompts affordable while every layer still has the released model's attention shape, so the
attention's share of a decode step is larger than in the full model; use the full model for
absolute numbers. Numbers mean something only on a quiet machine: the load average is printed.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"
LLAMA_BENCH = os.path.join(ROOT, "bench", "vs-llamacpp", "llamacpp_bench.py")


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{p.stderr}")
    return json.loads(p.stdout)


def kv_floats_per_token_layer(whale, model):
    """Cached floats per token per layer, from the config `whale info` prints."""
    out = subprocess.run([whale, "info", "--model", model], capture_output=True, text=True).stdout
    cfg = dict(line.strip().split(" = ", 1) for line in out.splitlines()
               if line.startswith("  ") and " = " in line.strip())
    if int(cfg.get("kv_lora_rank", "0")) > 0:
        return int(cfg["kv_lora_rank"]) + int(cfg["qk_rope_head_dim"])
    head_dim = int(cfg["hidden_size"]) // int(cfg["num_attention_heads"])
    return 2 * int(cfg["num_key_value_heads"]) * head_dim


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whale", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--prompts", default="128,512,1024,2048,4096")
    ap.add_argument("--kv-type", default="f32", choices=["f32", "f16", "bf16"])
    ap.add_argument("--no-llama", action="store_true")
    a = ap.parse_args()
    prompts = [int(x) for x in a.prompts.split(",")]
    rows = []
    per_layer = kv_floats_per_token_layer(a.whale, a.model)
    print(f"{'p':>6} {'pp whale':>9} {'llama':>8} {'x':>5}   {'tg whale':>8} {'llama':>7} "
          f"{'x':>5}   {'KV read/token':>13}")
    for p in prompts:
        common = ["-p", str(p), "-n", str(a.n), "-t", str(a.t), "-r", "1"]
        w = run_json([a.whale, "bench", "--model", a.model, "--json", "--kv-type", a.kv_type]
                     + common)
        l = None if a.no_llama else run_json([PY, LLAMA_BENCH, a.model] + common)
        value_bytes = 4 if a.kv_type == "f32" else 2
        kv_read = value_bytes * per_layer * w["shape"]["layers"] * (p + a.n / 2)
        row = {"p": p, "n": a.n, "whale_pp": w["pp_tok_s"]["median"],
               "whale_tg": w["tg_tok_s"]["median"], "kv_floats_per_token_layer": per_layer,
               "kv_bytes_read_per_token": kv_read,
               "llama_pp": l["pp_tok_s"]["median"] if l else None,
               "llama_tg": l["tg_tok_s"]["median"] if l and l["tg_tok_s"] else None}
        rows.append(row)

        def fmt(v, width, digits=1):
            return f"{v:{width}.{digits}f}" if v else " " * (width - 1) + "-"

        def ratio(x, y):
            return f"{x / y:5.2f}" if x and y else "    -"

        print(f"{p:6d} {fmt(row['whale_pp'], 9)} {fmt(row['llama_pp'], 8)} "
              f"{ratio(row['whale_pp'], row['llama_pp'])}   {fmt(row['whale_tg'], 8)} "
              f"{fmt(row['llama_tg'], 7)} {ratio(row['whale_tg'], row['llama_tg'])}   "
              f"{kv_read / 1e6:10.1f} MB", flush=True)
    load = os.getloadavg()
    print(f"model {os.path.basename(a.model)}, {rows[0]['kv_floats_per_token_layer']:.0f} cached "
          f"values per token per layer (whale --kv-type {a.kv_type}); threads {a.t}; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}" + ("  (machine busy)" if load[0] > 0.5 else ""))
    print(json.dumps(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
