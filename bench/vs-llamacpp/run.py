#!/usr/bin/python3
"""whale vs llama.cpp on random-weight models with the exact shapes of released models.

  run.py --whale BUILD/whale --work DIR [-t 2] [-p 512] [-n 128] [-r 3] [--layers N]
         [--only NAME[,NAME...]] [--long] [--kv-type f32|f16|bf16] [--pairs K] [--simd avx2]

Models (made by make_model.py into DIR on first use, ~1-9 GB each):
  qwen1.5b-q8_0 qwen1.5b-q4_0 qwen1.5b-q4_k_m   DeepSeek-R1-Distill-Qwen-1.5B shapes
  v2lite-q4_0 v2lite-q4_k_m                     DeepSeek-V2-Lite shapes
  qwen1.5b-q5_k_m v2lite-q5_k_m                 (only with --only: Q5_K_M mixes,
  qwen1.5b-q3_k_m v2lite-q3_k_m qwen1.5b-q2_k    Q3_K_M and Q2_K)
  v2lite-q2_k
For each: `whale bench --json` and llama.cpp (llamacpp_bench.py) with the same -p/-n/-t/-r,
whale's peak RSS (from wait4) against file size + KV cache, and the ratios whale / llama.cpp of
the median tok/s. --long adds tg after a 4096-token prompt on the V2-Lite shapes (-p 4096).
--kv-type is whale's KV cache type (default f32, exact; bf16 also computes attention in bf16);
llama.cpp's cache is f16 by default, so --kv-type bf16 compares 16-bit caches on both sides.
--pairs K runs the two programs K times in alternating order (whale first, then llama.cpp
first, ...) and reports the median of the K per-pair ratios: this machine's memory bandwidth
drifts by tens of percent over minutes, and a ratio taken from two runs minutes apart carries
that drift.
--simd avx2 measures both engines as an AVX2-only CPU would run them: whale with WHALE_SIMD=AVX2,
llama.cpp with only its haswell CPU build (libggml-cpu-haswell.so) loaded.

Acceptance targets (issue 5, 2 threads): tg >= 1.2x, pp >= 1.5x llama.cpp; V2-Lite tg after
4096 prompt tokens >= 2x; peak RSS <= file + KV + 10%. Numbers are only meaningful on a quiet
machine: the load average is printed with the results.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
MODELS = {
    "qwen1.5b-q8_0": ("r1-distill-qwen-1.5b", "q8_0"),
    "qwen1.5b-q4_0": ("r1-distill-qwen-1.5b", "q4_0"),
    "qwen1.5b-q4_k_m": ("r1-distill-qwen-1.5b", "q4_k_m"),
    "v2lite-q4_0": ("deepseek-v2-lite", "q4_0"),
    "v2lite-q4_k_m": ("deepseek-v2-lite", "q4_k_m"),
}
# Not in the default run (issue 5's table): pass them with --only.
EXTRA_MODELS = {
    "qwen1.5b-q5_k_m": ("r1-distill-qwen-1.5b", "q5_k_m"),
    "v2lite-q5_k_m": ("deepseek-v2-lite", "q5_k_m"),
    "qwen1.5b-q3_k_m": ("r1-distill-qwen-1.5b", "q3_k_m"),
    "qwen1.5b-q2_k": ("r1-distill-qwen-1.5b", "q2_k"),
    "v2lite-q3_k_m": ("deepseek-v2-lite", "q3_k_m"),
    "v2lite-q2_k": ("deepseek-v2-lite", "q2_k"),
}


def run_measured(cmd):
    """stdout of a command (its stderr is shown when it fails)."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


def run_with_rss(cmd):
    """(stdout, peak RSS in bytes) of a command: wait4 gives this child's own rusage."""
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 2)
        out = os.open(cmd_out_path(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.execv(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"FAILED ({status}): {' '.join(cmd)}")
    with open(cmd_out_path()) as f:
        return f.read(), usage.ru_maxrss * 1024


def cmd_out_path():
    return os.path.join(ARGS.work, ".last_stdout")


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whale", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--only")
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--kv-type", default="f32", choices=["f32", "f16", "bf16"])
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--simd", choices=["avx2"], help="cap both engines at AVX2")
    ARGS = a = ap.parse_args()
    a.whale = os.path.abspath(a.whale)
    os.makedirs(a.work, exist_ok=True)
    names = a.only.split(",") if a.only else list(MODELS)
    rows = []
    for name in names:
        shape, qtype = {**MODELS, **EXTRA_MODELS}[name]
        suffix = f"-l{a.layers}" if a.layers else ""
        path = os.path.join(a.work, f"{name}{suffix}.gguf")
        if not os.path.exists(path):
            cmd = [PY, os.path.join(HERE, "make_model.py"), shape, qtype, path, "--whale", a.whale]
            if a.layers:
                cmd += ["--layers", str(a.layers)]
            subprocess.run(cmd, check=True)
        runs = [(a.p, a.n)]
        if a.long and shape == "deepseek-v2-lite":
            runs.append((4096, min(a.n, 32)))
        for p, n in runs:
            common = ["-p", str(p), "-n", str(n), "-t", str(a.t), "-r", str(a.r)]
            whale_cmd = [a.whale, "bench", "--model", path, "--json", "--kv-type", a.kv_type] + common
            llama_cmd = [PY, os.path.join(HERE, "llamacpp_bench.py"), path] + common
            if a.simd == "avx2":
                whale_cmd = ["/usr/bin/env", "WHALE_SIMD=AVX2"] + whale_cmd
                llama_cmd += ["--cpu-variant", "haswell"]
            ws, ls, rss = [], [], 0
            for k in range(max(1, a.pairs)):
                for who in (("whale", "llama") if k % 2 == 0 else ("llama", "whale")):
                    if who == "whale":
                        out, peak = run_with_rss(whale_cmd)
                        ws.append(json.loads(out))
                        rss = max(rss, peak)
                    else:
                        ls.append(json.loads(run_measured(llama_cmd)))
            w = ws[0]

            def med(xs, key):
                return statistics.median(x[key]["median"] if x[key] else 0.0 for x in xs)

            def pair_ratio(key):
                return statistics.median(ratio(x[key]["median"], y[key]["median"] if y[key] else 0.0)
                                         for x, y in zip(ws, ls))
            budget = (os.path.getsize(path) + w["kv_cache_bytes"]) * 1.10
            rows.append({"model": name + suffix, "p": p, "n": n, "pairs": len(ws),
                         "whale_pp": med(ws, "pp_tok_s"), "llama_pp": med(ls, "pp_tok_s"),
                         "whale_tg": med(ws, "tg_tok_s"), "llama_tg": med(ls, "tg_tok_s"),
                         "pp_ratio": pair_ratio("pp_tok_s"), "tg_ratio": pair_ratio("tg_tok_s"),
                         "whale_tg_gb_s": statistics.median(x.get("tg_gb_s", {}).get("median", 0.0)
                                                            for x in ws),
                         "whale_pp_gflop_s": statistics.median(
                             x.get("pp_gflop_s", {}).get("median", 0.0) for x in ws),
                         "rss_mb": rss / 1e6, "rss_budget_mb": budget / 1e6})
            r = rows[-1]
            print(f"{r['model']:<22} p{p:<5} n{n:<4} pp whale {r['whale_pp']:8.2f} llama "
                  f"{r['llama_pp']:8.2f} x{r['pp_ratio']:5.2f}   tg whale "
                  f"{r['whale_tg']:7.2f} llama {r['llama_tg']:7.2f} "
                  f"x{r['tg_ratio']:5.2f}   {r['whale_tg_gb_s']:5.1f} GB/s  "
                  f"RSS {r['rss_mb']:.0f}/{r['rss_budget_mb']:.0f} MB", flush=True)
    load = os.getloadavg()
    print(f"pairs {max(1, a.pairs)} (ratios: median of per-pair ratios); whale --kv-type {a.kv_type}"
          + (f"; both capped at {a.simd}" if a.simd else ""))
    print(f"threads {a.t}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
          + ("  (machine busy: ratios are not representative)" if load[0] > 0.5 else ""))
    print(json.dumps(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
