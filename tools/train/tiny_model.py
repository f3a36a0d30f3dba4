"""A trainable DeepSeek-V3 in miniature (PyTorch), in DeepSeek's released weight layout.

Parameter names are the Hugging Face checkpoint's (model.layers.N.self_attn.q_a_proj.weight ...),
so export is a state_dict dump. The math reuses tools/ref (the project's independent reference
forward pass): its rope tables and DeepSeek pair-reordered rope, its V3 router (sigmoid scores,
noaux_tc group-limited choice on score + e_score_correction_bias, weights from the unbiased
scores, normalized then scaled), and the MLA formulas of its "expanded" form, with a batch
dimension added. tests/default_model checks the two agree on the exported checkpoint.
"""

import json
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../ref"))

from moe_routing import RouterSettings, route  # noqa: E402
from rope import apply_rope_deepseek, default_inv_freq  # noqa: E402

MLA_LATENT_NORM_EPS = 1e-6  # q_a_layernorm / kv_a_layernorm use the RMSNorm default


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def linear(n_in, n_out):
    return nn.Linear(n_in, n_out, bias=False)


class Mla(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        qk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
        h, heads = c["hidden_size"], c["num_attention_heads"]
        self.q_a_proj = linear(h, c["q_lora_rank"])
        self.q_a_layernorm = RMSNorm(c["q_lora_rank"], MLA_LATENT_NORM_EPS)
        self.q_b_proj = linear(c["q_lora_rank"], heads * qk)
        self.kv_a_proj_with_mqa = linear(h, c["kv_lora_rank"] + c["qk_rope_head_dim"])
        self.kv_a_layernorm = RMSNorm(c["kv_lora_rank"], MLA_LATENT_NORM_EPS)
        self.kv_b_proj = linear(c["kv_lora_rank"],
                                heads * (c["qk_nope_head_dim"] + c["v_head_dim"]))
        self.o_proj = linear(heads * c["v_head_dim"], h)
        self.scale = qk ** -0.5  # no rope_scaling, so no YaRN mscale factor

    def forward(self, x, cos, sin):
        c, (b, n, _) = self.c, x.shape
        heads, nope, rope, vd = (c["num_attention_heads"], c["qk_nope_head_dim"],
                                 c["qk_rope_head_dim"], c["v_head_dim"])
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(b, n, heads, nope + rope)
        q_nope, q_pe = q[..., :nope], q[..., nope:]
        compressed = self.kv_a_proj_with_mqa(x)
        latent = self.kv_a_layernorm(compressed[..., : c["kv_lora_rank"]])
        k_pe = compressed[..., c["kv_lora_rank"] :]
        q_pe = apply_rope_deepseek(q_pe.transpose(1, 2), cos, sin)  # [b, H, n, rope]
        k_pe = apply_rope_deepseek(k_pe, cos, sin).unsqueeze(1)  # [b, 1, n, rope]
        kv = self.kv_b_proj(latent).view(b, n, heads, nope + vd).transpose(1, 2)
        k_nope, v = kv[..., :nope], kv[..., nope:]
        q = torch.cat((q_nope.transpose(1, 2), q_pe), dim=-1)
        k = torch.cat((k_nope, k_pe.expand(b, heads, n, rope)), dim=-1)
        scores = (q @ k.transpose(-1, -2)) * self.scale
        mask = torch.ones(n, n, dtype=torch.bool).triu(1)
        probs = scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
        out = (probs @ v).transpose(1, 2).reshape(b, n, heads * vd)
        return self.o_proj(out)


class SiluMlp(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = linear(hidden, inter)
        self.up_proj = linear(hidden, inter)
        self.down_proj = linear(inter, hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    def __init__(self, hidden, n_experts):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_experts, hidden))
        # Selection only, never trained by gradients: updated the auxiliary-loss-free way.
        self.register_buffer("e_score_correction_bias", torch.zeros(n_experts))


class Moe(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, inter = c["hidden_size"], c["moe_intermediate_size"]
        self.router = RouterSettings(
            n_routed_experts=c["n_routed_experts"], top_k=c["num_experts_per_tok"],
            scoring_func="sigmoid", topk_method="noaux_tc", n_group=c["n_group"],
            topk_group=c["topk_group"], norm_topk_prob=c["norm_topk_prob"],
            routed_scaling_factor=c["routed_scaling_factor"], scale_after_norm=True)
        self.gate = Gate(h, c["n_routed_experts"])
        self.experts = nn.ModuleList(SiluMlp(h, inter) for _ in range(c["n_routed_experts"]))
        self.shared_experts = SiluMlp(h, inter * c["n_shared_experts"])
        self.last_load = None  # tokens per expert in the last forward pass

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        logits = x @ self.gate.weight.t()
        idx, weights = route(logits, self.router, self.gate.e_score_correction_bias)
        self.last_load = torch.bincount(idx.flatten(), minlength=len(self.experts))
        out = self.shared_experts(x)
        for e, expert in enumerate(self.experts):
            token, slot = (idx == e).nonzero(as_tuple=True)
            if token.numel():
                y = expert(x[token]) * weights[token, slot].unsqueeze(1)
                out = out.index_add(0, token, y)
        return out.view(shape)

    @torch.no_grad()
    def update_bias(self, rate):
        """DeepSeek-V3's auxiliary-loss-free balancing: bias += u * sign(mean load - load)."""
        load = self.last_load.to(self.gate.e_score_correction_bias.dtype)
        self.gate.e_score_correction_bias += rate * torch.sign(load.mean() - load)


class Layer(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        eps = c["rms_norm_eps"]
        self.input_layernorm = RMSNorm(c["hidden_size"], eps)
        self.self_attn = Mla(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], eps)
        self.mlp = Moe(c) if moe else SiluMlp(c["hidden_size"], c["intermediate_size"])

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(
            Layer(c, i >= c["first_k_dense_replace"]) for i in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class DeepseekV3Tiny(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Backbone(c)
        self.lm_head = linear(c["hidden_size"], c["vocab_size"])
        self.register_buffer("inv_freq", default_inv_freq(c["qk_rope_head_dim"],
                                                          c["rope_theta"], torch.float64),
                             persistent=False)

    def init_weights(self, seed):
        g = torch.Generator().manual_seed(seed)
        std = 0.02
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                continue
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * std)
        # Residual-branch outputs start smaller (GPT-2 style), which helps a short run.
        scale = (2 * self.config["num_hidden_layers"]) ** -0.5
        for name, p in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                with torch.no_grad():
                    p.mul_(scale)

    def rope(self, n, dtype):
        # Same formula as the reference's RopeTable.cos_sin, computed in float64 then cast.
        t = torch.arange(n, dtype=torch.float64)
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(self, ids):
        """ids [b, n] -> logits [b, n, vocab] (positions 0..n-1)."""
        x = self.model.embed_tokens(ids)
        cos, sin = self.rope(ids.shape[1], x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    def moe_layers(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, Moe)]


def hf_config(c):
    """config.json for the checkpoint: DeepSeek-V3's field names and values in miniature."""
    out = {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 0,
        "eos_token_id": 1, "ep_size": 1, "hidden_act": "silu", "initializer_range": 0.02,
        "max_position_embeddings": c["max_position_embeddings"], "moe_layer_freq": 1,
        "num_key_value_heads": c["num_attention_heads"], "num_nextn_predict_layers": 0,
        "pretraining_tp": 1, "rope_scaling": None, "scoring_func": "sigmoid",
        "topk_method": "noaux_tc", "tie_word_embeddings": False, "torch_dtype": "float32",
        "use_cache": True, "transformers_version": "4.46.3",
    }
    for k in ("vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size",
              "num_hidden_layers", "num_attention_heads", "n_shared_experts", "n_routed_experts",
              "routed_scaling_factor", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim",
              "v_head_dim", "qk_nope_head_dim", "n_group", "topk_group", "num_experts_per_tok",
              "first_k_dense_replace", "norm_topk_prob", "rms_norm_eps", "rope_theta"):
        out[k] = c[k]
    return out


def load_config(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
