#!/usr/bin/python3
"""Greedy continuations: whale and llama.cpp on the same GGUF pick the same 32 tokens after a
64-token prompt (issue 3's interop acceptance).

  greedy_vs_llamacpp.py WHALE_BIN WORK_DIR

llama.cpp (the prebuilt libraries of node-llama-cpp, tests/ref/llamacpp_logits.py: f32 KV cache,
flash attention off) decodes the prompt and then 32 tokens greedily. whale then evaluates the
prompt followed by llama.cpp's first 31 generated tokens, once in one prefill pass and once
token by token through the KV cache (--decode, the path `whale run` generates with); its argmax
after the prompt and after each generated token must be llama.cpp's next token at all 32 steps.
Since both feed the same tokens, agreement at every step is exactly "whale's own greedy
continuation is identical". llama.cpp's top-1 must also agree with whale at every prompt
position.

Models: the tiny random presets of every family (tools/gen/make_tiny_hf.py) as f32 and f16
GGUF, and the trained default model (models/whale-kjv-tiny-f16.gguf, prompt = the start of its
held-out text) as f16 and as q8_0 made by `whale quantize`. Each line prints the number of
agreeing steps and the smallest top-1/top-2 logit gap llama.cpp saw, so a failure shows whether
it was a near tie.
"""

import ctypes
import json
import os
import subprocess
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import llamacpp_logits  # noqa: E402

PY = "/usr/bin/python3"
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
DEFAULT_GGUF = os.path.join(ROOT, "models", "whale-kjv-tiny-f16.gguf")
HELDOUT = os.path.join(ROOT, "tests", "default_model", "heldout_ruth.txt")
PRESETS = ["deepseek-v2-lite", "deepseek-v3", "qwen2", "llama"]
N_PROMPT, N_GEN = 64, 32


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def llamacpp_greedy(lib, gguf, prompt):
    """(generated ids, llama.cpp's argmax at each prompt position, smallest top-1 gap)."""
    model = lib.llama_model_load_from_file(gguf.encode(), lib.llama_model_default_params())
    if not model:
        raise SystemExit(f"llama.cpp could not load {gguf}")
    params = llamacpp_logits.exact_context_params(lib.llama_context_default_params())
    ctx = lib.llama_init_from_model(model, params)
    if not ctx:
        raise SystemExit("llama.cpp could not create a context")
    n_vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))
    token = (ctypes.c_int32 * 1)()
    prompt_top1, generated, min_gap = [], [], float("inf")
    feed = list(prompt)
    while len(generated) < N_GEN:
        token[0] = feed.pop(0)
        if lib.llama_decode(ctx, lib.llama_batch_get_one(token, 1)) != 0:
            raise SystemExit("llama_decode failed")
        row = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
        best = int(row.argmax())
        if feed:
            prompt_top1.append(best)
            continue
        top2 = np.partition(row, -2)[-2:]
        min_gap = min(min_gap, float(top2[1] - top2[0]))
        generated.append(best)
        feed.append(best)
    lib.llama_free(ctx)
    lib.llama_model_free(model)
    return generated, prompt_top1, min_gap


def whale_argmax(whale, gguf, ids, out, decode):
    run([whale, "logits", "--model", gguf, "--tokens", ",".join(map(str, ids)), "--out", out]
        + (["--decode"] if decode else []))
    return np.fromfile(out, dtype="<f4").reshape(len(ids), -1).argmax(axis=1).tolist()


def check(lib, whale, work, label, gguf, prompt):
    generated, llama_prompt_top1, min_gap = llamacpp_greedy(lib, gguf, prompt)
    ids = prompt + generated[:-1]
    out = os.path.join(work, f"logits.{os.getpid()}.f32")
    ok = True
    for mode, decode in (("prefill", False), ("decode", True)):
        picks = whale_argmax(whale, gguf, ids, out, decode)
        steps = picks[N_PROMPT - 1 :]
        agree = next((i for i, (a, b) in enumerate(zip(steps, generated)) if a != b), N_GEN)
        prompt_same = sum(a == b for a, b in zip(picks[: N_PROMPT - 1], llama_prompt_top1))
        good = agree == N_GEN and prompt_same == N_PROMPT - 1
        ok = ok and good
        print(f"  {label:28s} {mode:8s} greedy {agree:2d}/{N_GEN} identical, prompt top-1 "
              f"{prompt_same}/{N_PROMPT - 1}, llama.cpp min gap {min_gap:.2e} "
              f"{'ok' if good else 'FAIL'}", flush=True)
    os.remove(out)
    return ok


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    whale, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    lib = llamacpp_logits.load_library()
    failures = 0
    for preset in PRESETS:
        hf = os.path.join(work, preset)
        run([PY, GEN, preset, hf])
        with open(os.path.join(hf, "config.json")) as f:
            vocab = int(json.load(f)["vocab_size"])
        rng = np.random.default_rng(zlib.crc32(preset.encode()) + 7)
        prompt = [int(t) for t in rng.integers(0, vocab, N_PROMPT)]
        for qtype in ("f32", "f16"):
            gguf = os.path.join(work, f"{preset}.{qtype}.gguf")
            run([whale, "convert", hf, gguf, "--type", qtype])
            failures += not check(lib, whale, work, f"{preset} {qtype}", gguf, prompt)

    ids = json.loads(run([whale, "tokenize", "--model", DEFAULT_GGUF, "--file", HELDOUT]))
    prompt = ids[:N_PROMPT]
    q8 = os.path.join(work, "default.q8_0.gguf")
    run([whale, "quantize", DEFAULT_GGUF, q8, "q8_0"])
    failures += not check(lib, whale, work, "default model f16", DEFAULT_GGUF, prompt)
    failures += not check(lib, whale, work, "default model q8_0", q8, prompt)
    print("greedy_vs_llamacpp: " + ("all identical" if not failures else f"{failures} FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
