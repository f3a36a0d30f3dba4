#!/usr/bin/python3
"""llama.cpp's speed on a GGUF file, measured the way `whale bench` measures whale's: pp = one
p-token prompt decoded as one batch from an empty cache, tg = n tokens decoded one at a time
right after it; one warm-up repetition, then REPS timed ones (min / median / max tok/s).

  llamacpp_bench.py FILE.gguf -p 512 -n 128 -t THREADS -r REPS [--cpu-variant V]  -> JSON

Drives the prebuilt llama.cpp CPU libraries shipped with node-llama-cpp through the C API with
ctypes (the loader of tests/ref/llamacpp_logits.py). llama.cpp runs with its default context
settings (F16 KV cache, flash attention auto) except n_ctx / n_batch / n_ubatch, which are sized
so the whole prompt is one batch, and the thread counts.
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import llamacpp_logits  # noqa: E402  (load_library, the ctypes declarations)


def sized_context_params(params, n_ctx, n_batch):
    """llama_context_params starts with uint32 n_ctx, n_batch, n_ubatch, n_seq_max (llama.h);
    the defaults (512, 2048, 512, 1) are checked before anything is changed."""
    words = np.frombuffer(bytes(params.bytes), dtype="<u4").copy()
    if list(words[1:4]) != [2048, 512, 1]:
        raise RuntimeError(f"unexpected llama_context_params layout: {list(words[:4])}")
    words[0], words[1], words[2] = n_ctx, n_batch, n_batch
    raw = bytearray(params.bytes)
    raw[0:12] = words[0:3].tobytes()
    ctypes.memmove(params.bytes, bytes(raw), len(raw))
    return params


def summary(v):
    return {"min": min(v), "median": statistics.median(v), "max": max(v)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("--cpu-variant", help="load only ggml's libggml-cpu-VARIANT.so (haswell: AVX2)")
    a = ap.parse_args()

    lib = llamacpp_logits.load_library(a.cpu_variant)
    lib.llama_set_n_threads.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32]
    lib.llama_get_memory.argtypes = [ctypes.c_void_p]
    lib.llama_get_memory.restype = ctypes.c_void_p
    lib.llama_memory_clear.argtypes = [ctypes.c_void_p, ctypes.c_bool]
    model = lib.llama_model_load_from_file(a.model.encode(), lib.llama_model_default_params())
    if not model:
        raise SystemExit(f"llama.cpp could not load {a.model}")
    n_ctx = (a.p + a.n + 255) // 256 * 256
    params = sized_context_params(lib.llama_context_default_params(), n_ctx, max(a.p, 512))
    ctx = lib.llama_init_from_model(model, params)
    if not ctx:
        raise SystemExit("llama.cpp could not create a context")
    lib.llama_set_n_threads(ctx, a.t, a.t)
    n_vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))
    rng = np.random.default_rng(1234)
    prompt = (ctypes.c_int32 * a.p)(*rng.integers(0, n_vocab, a.p).tolist())
    gen = rng.integers(0, n_vocab, max(a.n, 1)).tolist()
    one = (ctypes.c_int32 * 1)()
    pp, tg = [], []
    for rep in range(a.r + 1):  # rep 0: warm-up
        lib.llama_memory_clear(lib.llama_get_memory(ctx), True)
        t0 = time.perf_counter()
        if lib.llama_decode(ctx, lib.llama_batch_get_one(prompt, a.p)) != 0:
            raise SystemExit("llama_decode failed on the prompt")
        lib.llama_get_logits_ith(ctx, -1)
        t1 = time.perf_counter()
        for i in range(a.n):
            one[0] = gen[i]
            if lib.llama_decode(ctx, lib.llama_batch_get_one(one, 1)) != 0:
                raise SystemExit("llama_decode failed while generating")
            lib.llama_get_logits_ith(ctx, -1)
        t2 = time.perf_counter()
        if rep:
            pp.append(a.p / (t1 - t0))
            if a.n:
                tg.append(a.n / (t2 - t1))
    print(json.dumps({"model": a.model, "threads": a.t, "prompt_tokens": a.p, "gen_tokens": a.n,
                      "cpu_variant": a.cpu_variant or "best",
                      "pp_tok_s": summary(pp), "tg_tok_s": summary(tg) if tg else None}, indent=2))
    lib.llama_free(ctx)
    lib.llama_model_free(model)


if __name__ == "__main__":
    main()
