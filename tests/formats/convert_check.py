#!/usr/bin/python3
"""Script test for `whale convert`: generates each tiny preset (tools/gen/make_tiny_hf.py),
converts it to every --type, reads the GGUF back with an independent reader written here, and
checks tensor names, shapes and types; for --type f32 every value must equal the source tensor
(after the llama.cpp transforms, re-implemented here in numpy: rope permutation for llama,
expert stacking, kv_b split, FP8 block dequantization) exactly; for bf16 from a bf16 source,
the bits must be identical.

  convert_check.py WHALE_BIN WORK_DIR
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k", "q4_k_m"]
GGML = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 12: "Q4_K",
        13: "Q5_K", 14: "Q6_K", 30: "BF16"}

# ------------------------------------------------------------------ readers (independent)


def read_gguf(path):
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert data[:4] == b"GGUF", path
    pos = 4
    take("I")
    n_tensors, n_kv = take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        shape = [take("Q") for _ in range(nd)]
        infos.append((name, shape, take("I"), take("Q")))
    align = kv.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, shape, t, off in infos:
        n = int(np.prod(shape))
        raw = None
        if t == 0:
            raw = np.frombuffer(data, "<f4", n, base + off)
        elif t in (1, 30):
            raw = np.frombuffer(data, "<u2", n, base + off)
        tensors[name] = (shape, GGML.get(t, str(t)), raw)
    return kv, tensors


def fp8_e4m3_table():
    out = np.zeros(256, np.float32)
    for c in range(256):
        s, e, m = c >> 7, (c >> 3) & 15, c & 7
        v = np.nan if (e == 15 and m == 7) else (m / 8.0) * 2.0 ** -6 if e == 0 else (1 + m / 8.0) * 2.0 ** (e - 7)
        out[c] = -v if s else v
    return out


def read_hf(dir_):
    files = [f for f in os.listdir(dir_) if f.endswith(".safetensors")]
    out = {}
    for f in files:
        data = open(os.path.join(dir_, f), "rb").read()
        n = struct.unpack_from("<Q", data, 0)[0]
        header = json.loads(data[8:8 + n])
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            out[name] = (e["dtype"], e["shape"], data[8 + n + b:8 + n + end])
    return out


def to_f32(hf, name):
    dt, shape, raw = hf[name]
    if dt == "F32":
        x = np.frombuffer(raw, "<f4")
    elif dt == "F16":
        x = np.frombuffer(raw, "<f2").astype(np.float32)
    elif dt == "BF16":
        x = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    elif dt == "F8_E4M3":
        x = fp8_e4m3_table()[np.frombuffer(raw, np.uint8)]
        s = to_f32(hf, name + "_scale_inv")
        x = x.reshape(shape)
        full = np.repeat(np.repeat(s, 128, 0), 128, 1)[:shape[0], :shape[1]]
        return (x * full).astype(np.float32)
    else:
        raise ValueError(dt)
    return x.reshape(shape)


# ------------------------------------------------------------------ expected GGUF tensors


def expected_tensors(dir_):
    cfg = json.load(open(os.path.join(dir_, "config.json")))
    hf = read_hf(dir_)
    arch = cfg["architectures"][0]
    L = cfg["num_hidden_layers"]
    exp = {}

    def put(gguf, x):
        exp[gguf] = np.ascontiguousarray(x, np.float32)

    rs = cfg.get("rope_scaling") or {}
    if arch == "LlamaForCausalLM" and rs.get("rope_type") == "llama3":
        exp["rope_freqs.weight"] = None  # generated; value checked loosely below
    put("token_embd.weight", to_f32(hf, "model.embed_tokens.weight"))
    put("output_norm.weight", to_f32(hf, "model.norm.weight"))
    if "lm_head.weight" in hf and not cfg.get("tie_word_embeddings"):
        put("output.weight", to_f32(hf, "lm_head.weight"))
    simple = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
              "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
              "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
              "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
              "self_attn.v_proj.bias": "attn_v.bias", "self_attn.q_a_proj.weight": "attn_q_a.weight",
              "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight", "self_attn.q_b_proj.weight": "attn_q_b.weight",
              "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
              "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
              "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
              "mlp.down_proj.weight": "ffn_down.weight", "mlp.gate.weight": "ffn_gate_inp.weight",
              "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
              "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
              "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
              "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight"}
    nh = cfg["num_attention_heads"]

    def permute(w, heads):  # HF rotate-half -> interleaved (llama.cpp LlamaModel.permute)
        return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    for il in range(L):
        p, b = f"model.layers.{il}.", f"blk.{il}."
        for k, g in simple.items():
            if p + k in hf:
                x = to_f32(hf, p + k)
                if arch == "LlamaForCausalLM" and k.startswith("self_attn.q_proj"):
                    x = permute(x, nh)
                if arch == "LlamaForCausalLM" and k.startswith("self_attn.k_proj"):
                    x = permute(x, cfg["num_key_value_heads"])
                put(b + g, x)
        if p + "self_attn.kv_b_proj.weight" in hf:
            nope, v, lora = cfg["qk_nope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
            kv = to_f32(hf, p + "self_attn.kv_b_proj.weight").reshape(nh, nope + v, lora)
            put(b + "attn_k_b.weight", kv[:, :nope, :].transpose(0, 2, 1))
            put(b + "attn_v_b.weight", kv[:, nope:, :])
        if p + "mlp.experts.0.gate_proj.weight" in hf:
            E = cfg["n_routed_experts"]
            for pr, g in (("gate_proj", "ffn_gate_exps"), ("up_proj", "ffn_up_exps"), ("down_proj", "ffn_down_exps")):
                put(b + g + ".weight", np.stack([to_f32(hf, f"{p}mlp.experts.{e}.{pr}.weight") for e in range(E)]))
    return exp, hf, cfg


# ------------------------------------------------------------------ checks


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(whale, work, name, gen_args):
    d = os.path.join(work, name)
    subprocess.run([sys.executable, GEN] + gen_args + [d], check=True)
    exp, hf, cfg = expected_tensors(d)
    for t in TYPES:
        out = os.path.join(work, f"{name}.{t}.gguf")
        r = subprocess.run([whale, "convert", d, out, "--type", t, "--quiet"], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"{name} --type {t}: {r.stderr.strip()}")
        kv, tensors = read_gguf(out)
        if set(tensors) != set(exp):
            fail(f"{name} {t}: tensor names differ: extra {sorted(set(tensors) - set(exp))} "
                 f"missing {sorted(set(exp) - set(tensors))}")
        for gname, (shape, ttype, raw) in tensors.items():
            if gname == "rope_freqs.weight":
                continue
            want = exp[gname]
            if list(shape) != list(want.shape[::-1]):
                fail(f"{name} {t}: {gname} shape {shape}, expected {list(want.shape[::-1])}")
            if len(shape) == 1 and ttype != "F32":
                fail(f"{name} {t}: 1-D tensor {gname} is {ttype}, expected F32")
            if t == "f32" and not np.array_equal(raw.reshape(want.shape), want):
                fail(f"{name} f32: {gname} values differ from the source")
            if t == "bf16" and ttype == "BF16" and cfg.get("torch_dtype") == "bfloat16" \
                    and "quantization_config" not in cfg:
                bits = (want.view(np.uint32) >> 16).astype(np.uint16)
                if not np.array_equal(raw.reshape(want.shape), bits):
                    fail(f"{name} bf16: {gname} bits differ from the bf16 source")
        if kv["general.architecture"] not in ("deepseek2", "qwen2", "llama"):
            fail(f"{name}: bad architecture")
        a = kv["general.architecture"]
        if kv[f"{a}.block_count"] != cfg["num_hidden_layers"]:
            fail(f"{name}: block_count")
        if len(kv["tokenizer.ggml.tokens"]) != cfg["vocab_size"]:
            fail(f"{name}: token list is not padded to vocab_size")
        if t == "q4_k_m" and "output.weight" in tensors and tensors["output.weight"][1] not in ("Q6_K", "Q8_0"):
            fail(f"{name} q4_k_m: output.weight is {tensors['output.weight'][1]}")
    print(f"ok {name}: {len(exp)} tensors x {len(TYPES)} types")


def main():
    whale, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    check(whale, work, "v2lite", ["deepseek-v2-lite"])
    check(whale, work, "v3fp8mtp", ["deepseek-v3", "--fp8", "--mtp", "--shards", "3"])
    check(whale, work, "v3wide", ["deepseek-v3", "--hidden", "256", "--dtype", "f32"])
    check(whale, work, "qwen2", ["qwen2", "--dtype", "f16"])
    check(whale, work, "llama", ["llama"])
    check(whale, work, "llama_tied", ["llama", "--tie", "--hidden", "256"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
