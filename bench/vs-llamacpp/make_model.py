#!/usr/bin/python3
"""Random-weight GGUF models with the EXACT shapes of released DeepSeek-family models, for speed
comparisons (the values are random; every tensor's name, shape and type is what a real
quantized file of that model has, so both engines do the same work).

  make_model.py SHAPE TYPE OUT.gguf --whale BUILD/whale [--layers N]

  SHAPE  r1-distill-qwen-1.5b   qwen2: hidden 1536, 28 layers, 12 heads / 2 kv heads,
                                intermediate 8960, vocab 151936, untied lm_head
                                (public config.json of deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B)
         deepseek-v2-lite       deepseek2: hidden 2048, 27 layers, 16 heads, kv_lora 512,
                                q_lora none, nope 128 / rope 64 / v 128, 64 routed experts
                                (6 active, 1408 wide), 2 shared, first layer dense (10944),
                                vocab 102400 (public config.json of deepseek-ai/DeepSeek-V2-Lite)
  TYPE   q8_0 | q4_0 | q4_k_m | q5_k_m   tensor types chosen by the same rules as `whale
                                quantize` (src/quant/mix.cpp): norms and the router stay f32,
                                output.weight Q6_K for q4_0/q4_k_m/q5_k_m, attn_v / ffn_down
                                Q6_K on llama.cpp's "more bits" layers for q4_k_m/q5_k_m, rows
                                that do not divide into 256-blocks fall back (Q4_K -> Q5_0,
                                Q5_K -> Q5_1, Q6_K -> Q8_0)
         q3_k_m | q2_k          llama.cpp's rules for these (see choose_type); rows that do
                                not divide into 256-blocks fall back to IQ4_NL (Q2_K, Q3_K)
  --layers N  fewer layers (quick checks of the pipeline)

The metadata (architecture keys, a small byte-level BPE tokenizer padded with [PADn] tokens to
the vocabulary size) comes from a tiny model of the same family made by whale's own tools
(tools/gen/make_tiny_hf.py + `whale convert`), with the shape keys replaced. Tensors are
generated block by block and streamed to disk, never held in memory whole.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

import gguf_stream as gg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SHAPES = {
    "r1-distill-qwen-1.5b": dict(preset="qwen2", arch="qwen2", vocab=151936, hidden=1536,
                                 layers=28, heads=12, kv_heads=2, inter=8960,
                                 context=131072, rope_theta=10000.0),
    "deepseek-v2-lite": dict(preset="deepseek-v2-lite", arch="deepseek2", vocab=102400,
                             hidden=2048, layers=27, heads=16, inter=10944, moe_inter=1408,
                             experts=64, used=6, shared=2, dense=1, kv_lora=512, nope=128,
                             rope=64, v=128),
}
FILE_TYPE = {"q8_0": 7, "q4_0": 2, "q4_k_m": 15, "q5_k_m": 17, "q3_k_m": 12, "q2_k": 10}


def tensor_list(s):
    """[(name, GGUF shape fastest-first)] of the model."""
    H, V = s["hidden"], s["vocab"]
    out = [("token_embd.weight", [H, V])]
    for i in range(s["layers"]):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", [H]))
        if s["arch"] == "qwen2":
            hd = H // s["heads"]
            q, kv = s["heads"] * hd, s["kv_heads"] * hd
            out += [(p + "attn_q.weight", [H, q]), (p + "attn_k.weight", [H, kv]),
                    (p + "attn_v.weight", [H, kv]), (p + "attn_output.weight", [q, H]),
                    (p + "attn_q.bias", [q]), (p + "attn_k.bias", [kv]), (p + "attn_v.bias", [kv])]
            dense = True
        else:
            nh, kvl, nope, rope, vd = s["heads"], s["kv_lora"], s["nope"], s["rope"], s["v"]
            out += [(p + "attn_q.weight", [H, nh * (nope + rope)]),
                    (p + "attn_kv_a_mqa.weight", [H, kvl + rope]),
                    (p + "attn_kv_a_norm.weight", [kvl]),
                    (p + "attn_k_b.weight", [nope, kvl, nh]),
                    (p + "attn_v_b.weight", [kvl, vd, nh]),
                    (p + "attn_output.weight", [nh * vd, H])]
            dense = i < s["dense"]
        out.append((p + "ffn_norm.weight", [H]))
        if dense:
            I = s["inter"]
            out += [(p + "ffn_gate.weight", [H, I]), (p + "ffn_up.weight", [H, I]),
                    (p + "ffn_down.weight", [I, H])]
        else:
            E, mI, sh = s["experts"], s["moe_inter"], s["moe_inter"] * s["shared"]
            out += [(p + "ffn_gate_inp.weight", [H, E]),
                    (p + "ffn_gate_exps.weight", [H, mI, E]), (p + "ffn_up_exps.weight", [H, mI, E]),
                    (p + "ffn_down_exps.weight", [mI, H, E]),
                    (p + "ffn_gate_shexp.weight", [H, sh]), (p + "ffn_up_shexp.weight", [H, sh]),
                    (p + "ffn_down_shexp.weight", [sh, H])]
    out += [("output_norm.weight", [H]), ("output.weight", [H, V])]
    return out


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def fallback(t, row):
    block = gg.TYPES[t][1]
    if row % block == 0:
        return t
    f = {"q4_k": "q5_0", "q5_k": "q5_1", "q6_k": "q8_0", "q2_k": "iq4_nl",
         "q3_k": "iq4_nl"}.get(t, "f16")
    return f if row % gg.TYPES[f][1] == 0 else "f16"


def choose_type(name, shape, target, n_layers):
    """The rules of src/quant/mix.cpp (choose_type) for q8_0, q4_0, q4_k_m and q5_k_m; for
    q3_k_m and q2_k (which `whale quantize` does not make) llama.cpp's: attn_v Q5_K on the
    first two layers then Q4_K (q3_k_m) or Q4_K (q2_k: these models have 4+ query heads per
    kv head), ffn_down Q5_K on the first 1/16 of the layers then Q4_K (q3_k_m) or Q3_K (q2_k),
    attn_output Q4_K (q3_k_m) or Q3_K (q2_k)."""
    if len(shape) < 2 or "_norm.weight" in name or "ffn_gate_inp.weight" in name:
        return "f32"
    base = {"q8_0": "q8_0", "q4_0": "q4_0", "q4_k_m": "q4_k", "q5_k_m": "q5_k",
            "q3_k_m": "q3_k", "q2_k": "q2_k"}[target]
    m = re.match(r"blk\.(\d+)\.", name)
    layer = int(m.group(1)) if m else -1
    row, t = shape[0], base
    if name == "output.weight":
        if base != "q8_0":
            t = "q6_k" if row % 256 == 0 else "q8_0"
    elif any(k in name for k in ("attn_v.weight", "attn_qkv.weight", "attn_kv_b.weight")):
        if target in ("q4_k_m", "q5_k_m") and layer >= 0 and use_more_bits(layer, n_layers):
            t = "q6_k"
        elif target == "q3_k_m":
            t = "q5_k" if layer < 2 else "q4_k"
        elif target == "q2_k":
            t = "q4_k"
    elif "ffn_down" in name:
        if target in ("q4_k_m", "q5_k_m") and layer >= 0 and use_more_bits(layer, n_layers):
            t = "q6_k"
        elif target == "q3_k_m":
            t = "q5_k" if layer < n_layers // 16 else "q4_k"
        elif target == "q2_k":
            t = "q3_k"
    elif "attn_output.weight" in name:
        t = {"q3_k_m": "q4_k", "q2_k": "q3_k"}.get(target, t)
    return fallback(t, row)


def f16_bytes(x):
    return np.array([x], dtype="<f2").view(np.uint8)


# Scales chosen so that weights have a standard deviation of about 0.02, as trained models do
# (keeps activations finite; the speed does not depend on the values).
def random_blocks(rng, tname, n_blocks):
    _, _, size = gg.TYPES[tname]
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    if tname == "q8_0":
        b[:, 0:2] = f16_bytes(2.7e-4)
    elif tname == "q4_0":
        b[:, 0:2] = f16_bytes(4.3e-3)
    elif tname == "q5_0":
        b[:, 0:2] = f16_bytes(2.2e-3)
    elif tname == "q5_1":
        b[:, 0:2] = f16_bytes(1.3e-3)
        b[:, 2:4] = f16_bytes(-2.0e-2)
    elif tname in ("q4_k", "q5_k"):
        b[:, 0:2] = f16_bytes(1.3e-4 if tname == "q4_k" else 6.5e-5)
        b[:, 2:4] = f16_bytes(1.0e-4)
    elif tname == "q6_k":
        b[:, 208:210] = f16_bytes(1.5e-5)
    elif tname == "iq4_nl":
        b[:, 0:2] = f16_bytes(3.0e-4)
    elif tname == "q3_k":
        b[:, 108:110] = f16_bytes(5.0e-4)
    elif tname == "q2_k":
        b[:, 80:82] = f16_bytes(2.5e-3)
        b[:, 82:84] = f16_bytes(1.0e-3)
    return b.tobytes()


def chunks(rng, name, shape, tname, chunk_bytes=32 << 20):
    n = int(np.prod(shape))
    if tname in ("f32", "f16"):
        if len(shape) == 1:
            v = np.ones(n) if name.endswith("norm.weight") else np.zeros(n)
            yield v.astype("<f4" if tname == "f32" else "<f2").tobytes()
            return
        dt = "<f4" if tname == "f32" else "<f2"
        per = max(1, chunk_bytes // np.dtype(dt).itemsize)
        for i in range(0, n, per):
            yield (rng.standard_normal(min(per, n - i)) * 0.02).astype(dt).tobytes()
        return
    _, block, size = gg.TYPES[tname]
    n_blocks = n // block
    per = max(1, chunk_bytes // size)
    for i in range(0, n_blocks, per):
        yield random_blocks(rng, tname, min(per, n_blocks - i))


def template_metadata(shape, whale):
    """Metadata of a tiny model of the family converted by whale (architecture keys and a
    tokenizer llama.cpp accepts)."""
    with tempfile.TemporaryDirectory() as tmp:
        hf = os.path.join(tmp, "hf")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py"),
                        shape["preset"], hf], check=True, capture_output=True)
        out = os.path.join(tmp, "t.gguf")
        subprocess.run([whale, "convert", hf, out, "--type", "f32"], check=True,
                       capture_output=True)
        return gg.read_metadata(out)


def shape_keys(s, layers):
    a = s["arch"]
    keys = {f"{a}.vocab_size": s["vocab"], f"{a}.embedding_length": s["hidden"],
            f"{a}.feed_forward_length": s["inter"], f"{a}.block_count": layers,
            f"{a}.attention.head_count": s["heads"]}
    if a == "qwen2":
        hd = s["hidden"] // s["heads"]
        keys.update({f"{a}.attention.head_count_kv": s["kv_heads"],
                     f"{a}.rope.dimension_count": hd, f"{a}.context_length": s["context"]})
        floats = {f"{a}.rope.freq_base": s["rope_theta"]}
    else:
        kvl, nope, rope, vd = s["kv_lora"], s["nope"], s["rope"], s["v"]
        keys.update({f"{a}.expert_feed_forward_length": s["moe_inter"],
                     f"{a}.attention.q_lora_rank": 0, f"{a}.attention.kv_lora_rank": kvl,
                     f"{a}.attention.value_length_mla": vd, f"{a}.expert_count": s["experts"],
                     f"{a}.expert_shared_count": s["shared"], f"{a}.expert_used_count": s["used"],
                     f"{a}.leading_dense_block_count": s["dense"],
                     f"{a}.rope.dimension_count": rope, f"{a}.attention.head_count_kv": 1,
                     f"{a}.attention.key_length": kvl + rope, f"{a}.attention.value_length": kvl,
                     f"{a}.attention.key_length_mla": nope + rope})
        floats = {}
    return keys, floats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("type", choices=sorted(FILE_TYPE))
    ap.add_argument("out")
    ap.add_argument("--whale", required=True)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    s = SHAPES[a.shape]
    layers = a.layers or s["layers"]
    s = dict(s, layers=layers)
    keys, floats = shape_keys(s, layers)
    meta = []
    seen = set()
    for key, vtype, value in template_metadata(s, a.whale):
        seen.add(key)
        if key in keys:
            value = keys[key]
        elif key in floats:
            value = floats[key]
        elif key == "general.file_type":
            value = FILE_TYPE[a.type]
        elif key == "general.name":
            value = f"random {a.shape} {a.type}"
        elif key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type"):
            etype, items = value
            pad = s["vocab"] - len(items)
            if pad < 0:
                raise SystemExit("template tokenizer is larger than the vocabulary")
            # [PADn] entries as HF converters write them; type 4 = user-defined
            extra = [f"[PAD{len(items) + i}]" for i in range(pad)] if key.endswith("tokens") \
                else [4] * pad
            value = (etype, items + extra)
        meta.append((key, vtype, value))
    missing = [k for k in keys if k not in seen]
    for k in missing:
        meta.append((k, gg.U32, keys[k]))
    rng = np.random.default_rng(a.seed)
    tensors = []
    total = 0
    for name, shape in tensor_list(s):
        t = choose_type(name, shape, a.type, layers)
        total += gg.tensor_bytes(t, shape)
        tensors.append((name, shape, t, chunks(rng, name, shape, t)))
    print(f"{a.out}: {len(tensors)} tensors, {total / 1e9:.2f} GB", file=sys.stderr)
    tmp = a.out + ".tmp"
    gg.write(tmp, meta, tensors)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
