#!/usr/bin/python3
"""Every position's logits from llama.cpp (the prebuilt CPU libraries shipped with
node-llama-cpp), driven through its C API with ctypes; no compile, no download.

  llamacpp_logits.py FILE.gguf 1,2,3 OUT.f32      -> [n x vocab] little-endian float32

Tokens are decoded one at a time (llama_batch_get_one + llama_decode), reading
llama_get_logits_ith(ctx, -1) after each, so row i is the distribution after token i.
The parameter structs are only passed through (defaults from llama_*_default_params), so they
are declared as opaque, generously sized byte blocks: on x86-64 a struct this large is returned
through a caller-provided buffer and passed by value on the stack, and the library reads only
its own size from the front.
"""

import ctypes
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINS = os.path.join(ROOT, "tools", "npm", "node_modules", "@node-llama-cpp", "linux-x64", "bins",
                    "linux-x64")


class OpaqueParams(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint8 * 1024)]


class LlamaBatch(ctypes.Structure):  # struct llama_batch (public llama.h)
    _fields_ = [
        ("n_tokens", ctypes.c_int32),
        ("token", ctypes.POINTER(ctypes.c_int32)),
        ("embd", ctypes.POINTER(ctypes.c_float)),
        ("pos", ctypes.POINTER(ctypes.c_int32)),
        ("n_seq_id", ctypes.POINTER(ctypes.c_int32)),
        ("seq_id", ctypes.POINTER(ctypes.POINTER(ctypes.c_int32))),
        ("logits", ctypes.POINTER(ctypes.c_int8)),
    ]


def load_library(cpu_variant=None):
    """The llama.cpp C API. ggml loads the best of its CPU builds for this CPU, or with
    cpu_variant (a file libggml-cpu-VARIANT.so in BINS, e.g. "haswell": AVX2) that one only."""
    mode = ctypes.RTLD_GLOBAL
    ctypes.CDLL(os.path.join(BINS, "libggml-base.so"), mode=mode)
    ggml = ctypes.CDLL(os.path.join(BINS, "libggml.v0.4.0.so"), mode=mode)
    lib = ctypes.CDLL(os.path.join(BINS, "libllama.v0.4.0.so"), mode=mode)
    if cpu_variant:
        path = os.path.join(BINS, f"libggml-cpu-{cpu_variant}.so")
        ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
        ggml.ggml_backend_load.restype = ctypes.c_void_p
        if not os.path.exists(path) or not ggml.ggml_backend_load(path.encode()):
            raise RuntimeError(f"llama.cpp CPU build {path} cannot be loaded")
    else:
        ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        ggml.ggml_backend_load_all_from_path(BINS.encode())
    lib.llama_model_default_params.restype = OpaqueParams
    lib.llama_context_default_params.restype = OpaqueParams
    lib.llama_model_load_from_file.argtypes = [ctypes.c_char_p, OpaqueParams]
    lib.llama_model_load_from_file.restype = ctypes.c_void_p
    lib.llama_init_from_model.argtypes = [ctypes.c_void_p, OpaqueParams]
    lib.llama_init_from_model.restype = ctypes.c_void_p
    lib.llama_model_get_vocab.argtypes = [ctypes.c_void_p]
    lib.llama_model_get_vocab.restype = ctypes.c_void_p
    lib.llama_vocab_n_tokens.argtypes = [ctypes.c_void_p]
    lib.llama_vocab_n_tokens.restype = ctypes.c_int32
    lib.llama_batch_get_one.argtypes = [ctypes.POINTER(ctypes.c_int32), ctypes.c_int32]
    lib.llama_batch_get_one.restype = LlamaBatch
    lib.llama_decode.argtypes = [ctypes.c_void_p, LlamaBatch]
    lib.llama_decode.restype = ctypes.c_int32
    lib.llama_get_logits_ith.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.llama_get_logits_ith.restype = ctypes.POINTER(ctypes.c_float)
    lib.llama_free.argtypes = [ctypes.c_void_p]
    lib.llama_model_free.argtypes = [ctypes.c_void_p]
    lib.llama_backend_init()
    return lib


def exact_context_params(params):
    """Makes llama.cpp compute attention in float32 so that it can be compared at f32 precision:
    type_k/type_v F16 -> F32, and flash attention off (its CPU kernel loses ~5e-4 relative even
    with an F32 cache; measured on tiny models: 5.7e-4 max logit error with it, 2.8e-7 without).
    In llama_context_params, type_k/type_v follow two pointers that default to NULL (cb_eval,
    cb_eval_user_data): the unique 8-aligned int32 run [0,0,0,0,1,1]; flash_attn_type (AUTO = -1)
    sits 9 words earlier, just before rope_freq_base/scale (0.0) and four YaRN floats (-1.0).
    Layout from llama.h of the bundled llama.cpp (node-llama-cpp/llama/gitRelease.bundle)."""
    words = np.frombuffer(bytes(params.bytes), dtype="<i4")
    floats = np.frombuffer(bytes(params.bytes), dtype="<f4")
    hits = [i for i in range(0, 64, 2) if list(words[i : i + 6]) == [0, 0, 0, 0, 1, 1]]
    if len(hits) != 1:
        raise RuntimeError(f"cannot locate type_k/type_v in llama_context_params: {hits}")
    fa = hits[0] - 9
    if words[fa] != -1 or list(floats[fa + 1 : fa + 7]) != [0, 0, -1, -1, -1, -1]:
        raise RuntimeError("cannot locate flash_attn_type in llama_context_params")
    raw = bytearray(params.bytes)
    # n_threads, n_threads_batch (15 and 14 words before type_k): one thread each, because
    # ggml's worker threads spin while waiting and tests share a couple of cores.
    threads = hits[0] + 4 - 19
    if not (words[threads] > 0 and words[threads + 1] == words[threads]):
        raise RuntimeError("cannot locate n_threads in llama_context_params")
    raw[4 * threads : 4 * threads + 8] = np.array([1, 1], dtype="<i4").tobytes()
    raw[4 * hits[0] + 16 : 4 * hits[0] + 24] = bytes(8)  # GGML_TYPE_F32 = 0, twice
    raw[4 * fa : 4 * fa + 4] = bytes(4)  # LLAMA_FLASH_ATTN_TYPE_DISABLED = 0
    ctypes.memmove(params.bytes, bytes(raw), len(raw))
    return params


def logits(gguf_path, ids):
    lib = load_library()
    model = lib.llama_model_load_from_file(gguf_path.encode(), lib.llama_model_default_params())
    if not model:
        raise RuntimeError(f"llama.cpp could not load {gguf_path}")
    ctx = lib.llama_init_from_model(model, exact_context_params(lib.llama_context_default_params()))
    if not ctx:
        raise RuntimeError("llama.cpp could not create a context")
    n_vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))
    rows = []
    token = (ctypes.c_int32 * 1)()
    for t in ids:
        token[0] = t
        rc = lib.llama_decode(ctx, lib.llama_batch_get_one(token, 1))
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        out = lib.llama_get_logits_ith(ctx, -1)
        rows.append(np.ctypeslib.as_array(out, shape=(n_vocab,)).copy())
    lib.llama_free(ctx)
    lib.llama_model_free(model)
    return np.stack(rows)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    ids = [int(x) for x in sys.argv[2].replace(",", " ").split()]
    logits(sys.argv[1], ids).astype("<f4").tofile(sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
