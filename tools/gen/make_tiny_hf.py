#!/usr/bin/python3
"""Writes a tiny Hugging Face model directory with random weights for tests.

The tensor names, shapes and dtypes follow the released checkpoints of each family exactly
(only the sizes are small), so converters and forward passes written against the real models
work on these unchanged:

  deepseek-v2-lite  DeepseekV2ForCausalLM: q_lora_rank null (q_proj), softmax router, no groups
  deepseek-v3       DeepseekV3ForCausalLM: q_lora, sigmoid router + e_score_correction_bias,
                    n_group 4 / topk_group 2, routed scaling 2.5, yarn factor 40;
                    --fp8 stores linear weights as F8_E4M3 + weight_scale_inv (128x128 blocks),
                    --mtp appends one multi-token-prediction layer (num_nextn_predict_layers 1)
  qwen2             Qwen2ForCausalLM: q/k/v bias, grouped-query attention
  llama             LlamaForCausalLM: llama3 rope scaling, grouped-query attention

Without --tokenizer a small byte-level BPE tokenizer is generated with the pre-tokenizer
regex of the family; --tokenizer DIR copies a real tokenizer.json/tokenizer_config.json and sets
vocab_size from it. Weights are seeded (--seed), so a given command line always writes the same
bytes. Uses only numpy (Debian /usr/bin/python3).

  make_tiny_hf.py PRESET OUT_DIR [--tokenizer DIR] [--shards N] [--fp8] [--mtp]
                  [--dtype bf16|f16|f32] [--hidden N] [--tie] [--seed S]
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

DEEPSEEK_V3_REGEXES = [
    "\\p{N}{1,3}",
    "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]
QWEN2_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
               "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
LLAMA3_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
                "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


# ----------------------------------------------------------------------------- configs

def base_config(preset, hidden):
    if preset == "deepseek-v2-lite":
        return {
            "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
            "vocab_size": 0, "hidden_size": hidden, "intermediate_size": 3 * hidden // 2 * 2,
            "moe_intermediate_size": hidden // 2, "num_hidden_layers": 3,
            "num_attention_heads": 4, "num_key_value_heads": 4, "n_shared_experts": 2,
            "n_routed_experts": 8, "routed_scaling_factor": 1.0, "kv_lora_rank": 32,
            "q_lora_rank": None, "qk_rope_head_dim": 8, "v_head_dim": 16, "qk_nope_head_dim": 16,
            "topk_method": "greedy", "n_group": 1, "topk_group": 1, "num_experts_per_tok": 2,
            "moe_layer_freq": 1, "first_k_dense_replace": 1, "norm_topk_prob": False,
            "scoring_func": "softmax", "aux_loss_alpha": 0.001, "seq_aux": True,
            "hidden_act": "silu", "max_position_embeddings": 163840, "initializer_range": 0.02,
            "rms_norm_eps": 1e-06, "use_cache": True, "pad_token_id": None, "bos_token_id": 100000,
            "eos_token_id": 100001, "pretraining_tp": 1, "tie_word_embeddings": False,
            "rope_theta": 10000, "attention_bias": False, "attention_dropout": 0.0,
            "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
                             "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096,
                             "type": "yarn"},
            "torch_dtype": "bfloat16", "transformers_version": "4.33.1",
        }
    if preset == "deepseek-v3":
        return {
            "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
            "vocab_size": 0, "hidden_size": hidden, "intermediate_size": 160,
            "moe_intermediate_size": hidden // 2, "num_hidden_layers": 3,
            "num_nextn_predict_layers": 0, "num_attention_heads": 4, "num_key_value_heads": 4,
            "n_shared_experts": 1, "n_routed_experts": 8, "ep_size": 1,
            "routed_scaling_factor": 2.5, "kv_lora_rank": 32, "q_lora_rank": 48,
            "qk_rope_head_dim": 8, "v_head_dim": 16, "qk_nope_head_dim": 16,
            "topk_method": "noaux_tc", "n_group": 4, "topk_group": 2, "num_experts_per_tok": 2,
            "moe_layer_freq": 1, "first_k_dense_replace": 1, "norm_topk_prob": True,
            "scoring_func": "sigmoid", "hidden_act": "silu", "max_position_embeddings": 163840,
            "initializer_range": 0.02, "rms_norm_eps": 1e-06, "use_cache": True,
            "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": False,
            "rope_theta": 10000,
            "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                             "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                             "type": "yarn"},
            "attention_bias": False, "attention_dropout": 0.0, "torch_dtype": "bfloat16",
            "transformers_version": "4.33.1",
        }
    if preset == "qwen2":
        return {
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 0,
            "hidden_size": hidden, "intermediate_size": 2 * hidden, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 32768, "initializer_range": 0.02, "rms_norm_eps": 1e-06,
            "use_cache": True, "tie_word_embeddings": False, "rope_theta": 1000000.0,
            "rope_scaling": None, "use_sliding_window": False, "sliding_window": 131072,
            "max_window_layers": 28, "attention_dropout": 0.0, "bos_token_id": 151643,
            "eos_token_id": 151645, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
        }
    if preset == "llama":
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 0,
            "hidden_size": hidden, "intermediate_size": 2 * hidden, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 131072, "initializer_range": 0.02, "rms_norm_eps": 1e-05,
            "mlp_bias": False, "attention_bias": False, "attention_dropout": 0.0,
            "pretraining_tp": 1, "use_cache": True, "tie_word_embeddings": False,
            "rope_theta": 500000.0,
            "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 8192, "rope_type": "llama3"},
            "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
            "torch_dtype": "bfloat16", "transformers_version": "4.43.0.dev0",
        }
    raise SystemExit(f"make_tiny_hf: unknown preset {preset}")


# ----------------------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    """GPT-2's byte -> printable character table (a public, fixed mapping)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def synthetic_tokenizer(preset):
    """A small byte-level BPE: 256 byte tokens, a few merges, special tokens at the end."""
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    merges = []
    for word in ["the", "hello", "world", "whale", "deep", "seek", "ing", "tion"]:
        for piece in (word, "\u0120" + word):
            cur = piece[0]
            for ch in piece[1:]:
                merged = cur + ch
                if merged not in vocab:
                    merges.append(f"{cur} {ch}")
                    vocab[merged] = len(vocab)
                cur = merged
    n = len(vocab)
    if preset.startswith("deepseek"):
        specials = ["<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>",
                    "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>"]
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": r}, "behavior": "Isolated", "invert": False}
            for r in DEEPSEEK_V3_REGEXES] + [
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    else:
        specials = (["<|endoftext|>", "<|im_start|>", "<|im_end|>"] if preset == "qwen2"
                    else ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])
        regex = QWEN2_REGEX if preset == "qwen2" else LLAMA3_REGEX
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    added = [{"id": n + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(specials)]
    added.append({"id": n + len(specials), "content": "<think>", "single_word": False,
                  "lstrip": False, "rstrip": False, "normalized": False, "special": False})
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": None, "pre_tokenizer": pre,
           "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                              "use_regex": True},
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                       "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None,
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": False, "byte_fallback": False,
                     # Llama 3's tokenizer takes a whole word found in the vocabulary before
                     # merging (llama.cpp's llama-bpe does the same)
                     "ignore_merges": preset == "llama",
                     "vocab": vocab, "merges": merges}}
    cfg = {"add_bos_token": preset.startswith("deepseek"), "add_eos_token": False,
           "bos_token": specials[0], "eos_token": specials[1] if preset != "llama" else specials[2],
           "model_max_length": 16384, "tokenizer_class": "PreTrainedTokenizerFast",
           "chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"}
    bos_id, eos_id = n, n + (1 if preset != "llama" else 2)
    # Pad the model vocabulary past the tokenizer, as the real DeepSeek checkpoints do.
    vocab_size = ((n + len(added) + 63) // 64) * 64 + 64
    return tok, cfg, vocab_size, bos_id, eos_id


# ----------------------------------------------------------------------------- tensors

def to_bf16_bits(x):
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def tensor_names(cfg, mtp):
    """(name, shape, kind) in the released checkpoints' naming. kind: 'norm', 'linear' (FP8
    candidate), 'embed', 'router', 'bias', 'score_bias'."""
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    out = [("model.embed_tokens.weight", (V, H), "embed")]
    arch = cfg["architectures"][0]
    n_layers = cfg["num_hidden_layers"] + (1 if mtp else 0)
    for il in range(n_layers):
        p = f"model.layers.{il}."
        if il >= cfg["num_hidden_layers"]:  # DeepSeek-V3 MTP module
            out += [(p + "embed_tokens.weight", (V, H), "embed"), (p + "enorm.weight", (H,), "norm"),
                    (p + "hnorm.weight", (H,), "norm"), (p + "eh_proj.weight", (H, 2 * H), "linear"),
                    (p + "shared_head.norm.weight", (H,), "norm"),
                    (p + "shared_head.head.weight", (V, H), "embed")]
        out.append((p + "input_layernorm.weight", (H,), "norm"))
        out.append((p + "post_attention_layernorm.weight", (H,), "norm"))
        if arch.startswith("Deepseek"):
            nh, nope, rope = cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"]
            v, kvl, ql = cfg["v_head_dim"], cfg["kv_lora_rank"], cfg["q_lora_rank"]
            if ql:
                out += [(p + "self_attn.q_a_proj.weight", (ql, H), "linear"),
                        (p + "self_attn.q_a_layernorm.weight", (ql,), "norm"),
                        (p + "self_attn.q_b_proj.weight", (nh * (nope + rope), ql), "linear")]
            else:
                out.append((p + "self_attn.q_proj.weight", (nh * (nope + rope), H), "linear"))
            out += [(p + "self_attn.kv_a_proj_with_mqa.weight", (kvl + rope, H), "linear"),
                    (p + "self_attn.kv_a_layernorm.weight", (kvl,), "norm"),
                    (p + "self_attn.kv_b_proj.weight", (nh * (nope + v), kvl), "linear"),
                    (p + "self_attn.o_proj.weight", (H, nh * v), "linear")]
            if il < cfg["first_k_dense_replace"]:
                I = cfg["intermediate_size"]
                out += [(p + "mlp.gate_proj.weight", (I, H), "linear"),
                        (p + "mlp.up_proj.weight", (I, H), "linear"),
                        (p + "mlp.down_proj.weight", (H, I), "linear")]
            else:
                I, E = cfg["moe_intermediate_size"], cfg["n_routed_experts"]
                out.append((p + "mlp.gate.weight", (E, H), "router"))
                if cfg["scoring_func"] == "sigmoid":
                    out.append((p + "mlp.gate.e_score_correction_bias", (E,), "score_bias"))
                for e in range(E):
                    q = f"{p}mlp.experts.{e}."
                    out += [(q + "gate_proj.weight", (I, H), "linear"),
                            (q + "up_proj.weight", (I, H), "linear"),
                            (q + "down_proj.weight", (H, I), "linear")]
                S = I * cfg["n_shared_experts"]
                out += [(p + "mlp.shared_experts.gate_proj.weight", (S, H), "linear"),
                        (p + "mlp.shared_experts.up_proj.weight", (S, H), "linear"),
                        (p + "mlp.shared_experts.down_proj.weight", (H, S), "linear")]
        else:
            nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
            hd = H // nh
            out += [(p + "self_attn.q_proj.weight", (nh * hd, H), "linear"),
                    (p + "self_attn.k_proj.weight", (nkv * hd, H), "linear"),
                    (p + "self_attn.v_proj.weight", (nkv * hd, H), "linear"),
                    (p + "self_attn.o_proj.weight", (H, nh * hd), "linear")]
            if arch == "Qwen2ForCausalLM":
                out += [(p + "self_attn.q_proj.bias", (nh * hd,), "bias"),
                        (p + "self_attn.k_proj.bias", (nkv * hd,), "bias"),
                        (p + "self_attn.v_proj.bias", (nkv * hd,), "bias")]
            I = cfg["intermediate_size"]
            out += [(p + "mlp.gate_proj.weight", (I, H), "linear"),
                    (p + "mlp.up_proj.weight", (I, H), "linear"),
                    (p + "mlp.down_proj.weight", (H, I), "linear")]
    out.append(("model.norm.weight", (H,), "norm"))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, H), "embed"))
    return out


def make_tensors(cfg, mtp, fp8, dtype, rng):
    """name -> (safetensors dtype, shape, raw bytes)."""
    block = 128
    result = {}
    for name, shape, kind in tensor_names(cfg, mtp):
        if kind == "norm":
            x = 1.0 + 0.1 * rng.standard_normal(shape)
        elif kind == "score_bias":
            x = 0.01 * rng.standard_normal(shape)
        else:
            x = 0.05 * rng.standard_normal(shape)
        if fp8 and kind == "linear":
            # Random FP8 E4M3 codes (no NaN: 0x7f / 0xff) and positive f32 block scales.
            codes = rng.integers(0, 254, size=shape, dtype=np.uint8)
            codes[codes == 0x7F] = 0x7E
            scales = (rng.random(((shape[0] + block - 1) // block, (shape[1] + block - 1) // block))
                      * 0.01 + 0.001).astype(np.float32)
            result[name] = ("F8_E4M3", shape, codes.tobytes())
            result[name + "_scale_inv"] = ("F32", scales.shape, scales.tobytes())
            continue
        if kind == "score_bias":  # kept in f32 in the released DeepSeek-V3 checkpoint
            result[name] = ("F32", shape, x.astype("<f4").tobytes())
        elif dtype == "f32":
            result[name] = ("F32", shape, x.astype("<f4").tobytes())
        elif dtype == "f16":
            result[name] = ("F16", shape, x.astype("<f2").tobytes())
        else:
            result[name] = ("BF16", shape, to_bf16_bits(x).astype("<u2").tobytes())
    return result


def write_safetensors(path, tensors, names):
    header, offset, blobs = {}, 0, []
    for n in names:
        dt, shape, data = tensors[n]
        header[n] = {"dtype": dt, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", choices=["deepseek-v2-lite", "deepseek-v3", "qwen2", "llama"])
    ap.add_argument("out")
    ap.add_argument("--tokenizer")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--fp8", action="store_true")
    ap.add_argument("--mtp", action="store_true")
    ap.add_argument("--dtype", choices=["bf16", "f16", "f32"], default="bf16")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    if (a.fp8 or a.mtp) and a.preset != "deepseek-v3":
        raise SystemExit("make_tiny_hf: --fp8 and --mtp apply to the deepseek-v3 preset")

    cfg = base_config(a.preset, a.hidden)
    os.makedirs(a.out, exist_ok=True)
    if a.tokenizer:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            if os.path.exists(os.path.join(a.tokenizer, f)):
                shutil.copy(os.path.join(a.tokenizer, f), os.path.join(a.out, f))
        tok = json.load(open(os.path.join(a.out, "tokenizer.json"), encoding="utf-8"))
        ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])]
        cfg["vocab_size"] = max(ids) + 1
    else:
        tok, tcfg, cfg["vocab_size"], bos, eos = synthetic_tokenizer(a.preset)
        cfg["bos_token_id"], cfg["eos_token_id"] = bos, eos
        with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False, indent=1)
        with open(os.path.join(a.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(tcfg, f, ensure_ascii=False, indent=1)
    if a.tie:
        cfg["tie_word_embeddings"] = True
    if a.mtp:
        cfg["num_nextn_predict_layers"] = 1
    if a.fp8:
        cfg["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3",
                                      "quant_method": "fp8", "weight_block_size": [128, 128]}
    if a.dtype != "bf16":
        cfg["torch_dtype"] = {"f32": "float32", "f16": "float16"}[a.dtype]
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)

    rng = np.random.default_rng(a.seed)
    tensors = make_tensors(cfg, a.mtp, a.fp8, a.dtype, rng)
    names = list(tensors.keys())
    if a.shards <= 1:
        write_safetensors(os.path.join(a.out, "model.safetensors"), tensors, names)
    else:
        n = a.shards
        files = [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]
        per = (len(names) + n - 1) // n
        weight_map = {}
        for i, fname in enumerate(files):
            part = names[i * per:(i + 1) * per]
            write_safetensors(os.path.join(a.out, fname), tensors, part)
            for t in part:
                weight_map[t] = fname
        total = sum(len(t[2]) for t in tensors.values())
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
