"""DeepSeekMoE router: expert selection and combination weights.

Mirrors the gates of DeepSeek's released Hugging Face modeling files:
- V2 (DeepseekV2ForCausalLM): softmax scores; greedy, or group_limited_greedy (a group's score
  is its best expert's score, topk_group groups kept, the others' experts zeroed); then
  normalize when top_k > 1 and norm_topk_prob, OTHERWISE multiply by routed_scaling_factor.
- V3 (DeepseekV3ForCausalLM): sigmoid scores; noaux_tc chooses on scores +
  e_score_correction_bias (group score = sum of the group's two best biased scores, experts of
  dropped groups set to 0.0 - not -inf - before the final top-k) but weighs the chosen experts
  by their UNBIASED scores; normalize when top_k > 1 and norm_topk_prob, THEN always multiply
  by routed_scaling_factor.
Every selection is torch.topk(..., sorted=False), as in the reference, so ties resolve the way
torch resolves them (not lowest-index-first in general).
"""

from dataclasses import dataclass

import torch


class RoutingConfigError(Exception):
    pass


@dataclass
class RouterSettings:
    n_routed_experts: int
    top_k: int
    scoring_func: str = "softmax"  # "softmax" | "sigmoid"
    topk_method: str = "greedy"  # "greedy" | "group_limited_greedy" | "noaux_tc"
    n_group: int = 1
    topk_group: int = 1
    norm_topk_prob: bool = False
    routed_scaling_factor: float = 1.0
    scale_after_norm: bool = False  # False: V2 rule (scale only if not normalized); True: V3

    def validate(self):
        if self.scoring_func not in ("softmax", "sigmoid"):
            raise RoutingConfigError(f"unsupported scoring_func {self.scoring_func!r}")
        if self.topk_method not in ("greedy", "group_limited_greedy", "noaux_tc"):
            raise RoutingConfigError(f"unsupported topk_method {self.topk_method!r}")
        if not 1 <= self.top_k <= self.n_routed_experts:
            raise RoutingConfigError(f"num_experts_per_tok {self.top_k} out of range")
        if self.topk_method != "greedy":
            if self.n_group < 1 or self.n_routed_experts % self.n_group:
                raise RoutingConfigError(
                    f"n_group {self.n_group} does not divide {self.n_routed_experts}"
                )
            if not 1 <= self.topk_group <= self.n_group:
                raise RoutingConfigError(f"topk_group {self.topk_group} out of range")
            if self.topk_method == "noaux_tc" and self.n_routed_experts // self.n_group < 2:
                raise RoutingConfigError("noaux_tc needs at least 2 experts per group")


def _group_mask(group_scores, settings):
    """[n, n_routed] bool: experts whose group is among the topk_group best groups."""
    n = group_scores.shape[0]
    group_idx = torch.topk(group_scores, k=settings.topk_group, dim=-1, sorted=False)[1]
    group_mask = torch.zeros_like(group_scores)
    group_mask.scatter_(1, group_idx, 1)
    per_group = settings.n_routed_experts // settings.n_group
    return group_mask.unsqueeze(-1).expand(n, settings.n_group, per_group).reshape(n, -1).bool()


def route(logits, settings, correction_bias=None):
    """logits [n, n_routed] -> (expert indices [n, top_k], weights [n, top_k])."""
    n = logits.shape[0]
    if settings.scoring_func == "softmax":
        scores = logits.softmax(dim=-1)
    else:
        scores = logits.sigmoid()

    if settings.topk_method == "greedy":
        weights, idx = torch.topk(scores, k=settings.top_k, dim=-1, sorted=False)
    elif settings.topk_method == "group_limited_greedy":
        group_scores = scores.view(n, settings.n_group, -1).max(dim=-1).values
        masked = scores.masked_fill(~_group_mask(group_scores, settings), 0.0)
        weights, idx = torch.topk(masked, k=settings.top_k, dim=-1, sorted=False)
    else:  # noaux_tc
        if correction_bias is None:
            raise RoutingConfigError("noaux_tc needs e_score_correction_bias")
        for_choice = scores + correction_bias.unsqueeze(0)
        group_scores = for_choice.view(n, settings.n_group, -1).topk(2, dim=-1)[0].sum(dim=-1)
        masked = for_choice.masked_fill(~_group_mask(group_scores, settings), 0.0)
        idx = torch.topk(masked, k=settings.top_k, dim=-1, sorted=False)[1]
        weights = scores.gather(1, idx)

    normalize = settings.top_k > 1 and settings.norm_topk_prob
    if normalize:
        weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
    if settings.scale_after_norm or not normalize:
        weights = weights * settings.routed_scaling_factor
    return idx, weights
