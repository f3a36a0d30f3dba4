"""SiLU-gated MLP and the DeepSeekMoE block (routed experts + shared experts)."""

import torch

from moe_routing import route


def silu_mlp(weights, prefix, x):
    gate = weights.linear(x, prefix + "gate_proj")
    up = weights.linear(x, prefix + "up_proj")
    return weights.linear(torch.nn.functional.silu(gate) * up, prefix + "down_proj")


class DenseMlp:
    def __init__(self, weights, prefix):
        self.w = weights
        self.p = prefix

    def __call__(self, x):
        return silu_mlp(self.w, self.p, x)


class DeepSeekMoe:
    """y = sum_k weight_k * expert_{idx_k}(x) + shared_experts(x).

    The shared experts are one MLP of width n_shared_experts * moe_intermediate_size, stored
    under mlp.shared_experts.*; the router weight is mlp.gate.weight [n_routed, hidden] and, for
    noaux_tc, mlp.gate.e_score_correction_bias [n_routed].
    """

    def __init__(self, weights, prefix, cfg):
        self.w = weights
        self.p = prefix
        self.cfg = cfg
        bias_name = prefix + "gate.e_score_correction_bias"
        self.bias_name = bias_name if bias_name in weights else None

    def route(self, x):
        logits = x @ self.w.get(self.p + "gate.weight").t()
        bias = self.w.get(self.bias_name) if self.bias_name else None
        return route(logits, self.cfg.router, bias)

    def __call__(self, x):
        idx, weights = self.route(x)
        out = torch.zeros_like(x)
        for expert in torch.unique(idx).tolist():
            token, slot = (idx == expert).nonzero(as_tuple=True)
            expert_out = silu_mlp(self.w, f"{self.p}experts.{expert}.", x[token])
            out.index_add_(0, token, expert_out * weights[token, slot].unsqueeze(1))
        if self.cfg.n_shared_experts:
            out = out + silu_mlp(self.w, self.p + "shared_experts.", x)
        return out
