"""Causal self-attention: grouped-query (Qwen2/Llama) and Multi-head Latent Attention (DeepSeek).

Each attention object processes a chunk of consecutive tokens starting at `start` and appends
what later tokens need to `cache` (a dict owned by the caller, one per layer). Prefill is one
chunk of every token; decode is chunks of one token. Activations are [seq, heads, dim].
"""

import math

import torch

from rope import apply_rope_deepseek, apply_rope_half, yarn_get_mscale, rope_scaling_type

# DeepSeek builds q_a_layernorm / kv_a_layernorm with the RMSNorm default epsilon, not
# config.rms_norm_eps (DeepseekV2RMSNorm(config.kv_lora_rank)).
MLA_LATENT_NORM_EPS = 1e-6


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def causal_softmax(scores, start):
    """scores [heads, q, k] where query i sits at position start + i and key j at position j."""
    q_len, k_len = scores.shape[-2], scores.shape[-1]
    query_pos = torch.arange(start, start + q_len).unsqueeze(1)
    key_pos = torch.arange(k_len).unsqueeze(0)
    scores = scores.masked_fill(key_pos > query_pos, float("-inf"))
    return scores.softmax(dim=-1)


def _append(cache, key, value):
    cache[key] = value if key not in cache else torch.cat((cache[key], value), dim=0)
    return cache[key]


class GqaAttention:
    """Qwen2 / Llama attention: optional q/k/v/o biases, rotate_half rope, shared kv heads."""

    def __init__(self, weights, prefix, cfg, rope):
        self.w = weights
        self.p = prefix
        self.cfg = cfg
        self.rope = rope

    def __call__(self, x, start, cache):
        cfg, n = self.cfg, x.shape[0]
        q = self.w.linear(x, self.p + "q_proj").view(n, cfg.num_heads, cfg.head_dim)
        k = self.w.linear(x, self.p + "k_proj").view(n, cfg.num_kv_heads, cfg.head_dim)
        v = self.w.linear(x, self.p + "v_proj").view(n, cfg.num_kv_heads, cfg.head_dim)
        cos, sin = self.rope.cos_sin(torch.arange(start, start + n))
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # broadcast over heads
        q = apply_rope_half(q.transpose(0, 1), cos.transpose(0, 1), sin.transpose(0, 1))
        k = apply_rope_half(k.transpose(0, 1), cos.transpose(0, 1), sin.transpose(0, 1))
        keys = _append(cache, "k", k.transpose(0, 1))  # [T, kv_heads, d]
        values = _append(cache, "v", v)
        group = cfg.num_heads // cfg.num_kv_heads
        keys = keys.repeat_interleave(group, dim=1)  # head h reads kv head h // group
        values = values.repeat_interleave(group, dim=1)
        scores = torch.einsum("hqd,khd->hqk", q, keys) / math.sqrt(cfg.head_dim)
        probs = causal_softmax(scores, start)
        out = torch.einsum("hqk,khd->qhd", probs, values).reshape(n, -1)
        return self.w.linear(out, self.p + "o_proj")


def mla_softmax_scale(cfg):
    scale = (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim) ** -0.5
    if rope_scaling_type(cfg.rope_scaling) is not None:
        mscale_all_dim = cfg.rope_scaling.get("mscale_all_dim", 0)
        if mscale_all_dim:
            m = yarn_get_mscale(float(cfg.rope_scaling["factor"]), mscale_all_dim)
            scale = scale * m * m
    return scale


class MlaAttention:
    """DeepSeek Multi-head Latent Attention, in one of two mathematically equal forms.

    expanded: kv_b_proj turns the normalized latent into per-head k_nope and v (the HF code).
    absorbed: W_UK is folded into the query and W_UV applied after attending, so scores are
    taken directly against the cached normalized latent + rotated k_pe (DeepSeek-V3's
    inference/model.py "absorb" mode); the cache holds kv_lora_rank + rope dims per token.
    """

    def __init__(self, weights, prefix, cfg, rope, form):
        if form not in ("expanded", "absorbed"):
            raise ValueError(f"unknown MLA form {form!r}")
        self.w = weights
        self.p = prefix
        self.cfg = cfg
        self.rope = rope
        self.form = form
        self.scale = mla_softmax_scale(cfg)

    def _query(self, x):
        cfg, n = self.cfg, x.shape[0]
        if cfg.q_lora_rank:
            q_latent = self.w.linear(x, self.p + "q_a_proj")
            q_latent = rms_norm(q_latent, self.w.get(self.p + "q_a_layernorm.weight"),
                                MLA_LATENT_NORM_EPS)
            q = self.w.linear(q_latent, self.p + "q_b_proj")
        else:
            q = self.w.linear(x, self.p + "q_proj")
        q = q.view(n, cfg.num_heads, cfg.qk_nope_head_dim + cfg.qk_rope_head_dim)
        return q[..., : cfg.qk_nope_head_dim], q[..., cfg.qk_nope_head_dim :]

    def __call__(self, x, start, cache):
        cfg, n = self.cfg, x.shape[0]
        q_nope, q_pe = self._query(x)
        compressed = self.w.linear(x, self.p + "kv_a_proj_with_mqa")
        latent = compressed[:, : cfg.kv_lora_rank]
        k_pe = compressed[:, cfg.kv_lora_rank :]
        latent = rms_norm(latent, self.w.get(self.p + "kv_a_layernorm.weight"),
                          MLA_LATENT_NORM_EPS)
        cos, sin = self.rope.cos_sin(torch.arange(start, start + n))
        q_pe = apply_rope_deepseek(q_pe.transpose(0, 1), cos, sin)  # [H, n, rope]
        k_pe = apply_rope_deepseek(k_pe, cos, sin)  # [n, rope], shared by all heads
        # kv_b_proj.weight is [H * (nope + v), kv_lora_rank]
        kv_b = self.w.get(self.p + "kv_b_proj.weight").view(
            cfg.num_heads, cfg.qk_nope_head_dim + cfg.v_head_dim, cfg.kv_lora_rank
        )
        w_uk, w_uv = kv_b[:, : cfg.qk_nope_head_dim], kv_b[:, cfg.qk_nope_head_dim :]
        if self.form == "expanded":
            out = self._expanded(q_nope, q_pe, latent, k_pe, w_uk, w_uv, start, cache)
        else:
            out = self._absorbed(q_nope, q_pe, latent, k_pe, w_uk, w_uv, start, cache)
        return self.w.linear(out.reshape(n, -1), self.p + "o_proj")

    def _expanded(self, q_nope, q_pe, latent, k_pe, w_uk, w_uv, start, cache):
        n, heads = latent.shape[0], self.cfg.num_heads
        k_nope = torch.einsum("nc,hdc->nhd", latent, w_uk)
        v = torch.einsum("nc,hdc->nhd", latent, w_uv)
        k = torch.cat((k_nope, k_pe.unsqueeze(1).expand(n, heads, -1)), dim=-1)
        keys = _append(cache, "k", k)  # [T, H, nope + rope]
        values = _append(cache, "v", v)  # [T, H, v]
        q = torch.cat((q_nope.transpose(0, 1), q_pe), dim=-1)  # [H, n, nope + rope]
        scores = torch.einsum("hqd,khd->hqk", q, keys) * self.scale
        probs = causal_softmax(scores, start)
        return torch.einsum("hqk,khd->qhd", probs, values)

    def _absorbed(self, q_nope, q_pe, latent, k_pe, w_uk, w_uv, start, cache):
        latents = _append(cache, "latent", latent)  # [T, kv_lora_rank]
        pes = _append(cache, "k_pe", k_pe)  # [T, rope]
        q_latent = torch.einsum("qhd,hdc->hqc", q_nope, w_uk)
        scores = torch.einsum("hqc,kc->hqk", q_latent, latents)
        scores = (scores + torch.einsum("hqr,kr->hqk", q_pe, pes)) * self.scale
        probs = causal_softmax(scores, start)
        attended = torch.einsum("hqk,kc->hqc", probs, latents)
        return torch.einsum("hqc,hdc->qhd", attended, w_uv)
