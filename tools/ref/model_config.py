"""Reads a Hugging Face config.json into the few settings the reference forward pass needs."""

import json
import os
from dataclasses import dataclass, field

from moe_routing import RouterSettings

DEEPSEEK_ARCHS = ("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM")
GQA_ARCHS = ("Qwen2ForCausalLM", "LlamaForCausalLM")


class ConfigError(Exception):
    pass


@dataclass
class ModelConfig:
    architecture: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    rms_norm_eps: float
    rope_theta: float
    rope_scaling: dict
    intermediate_size: int
    tie_word_embeddings: bool
    # Qwen2 / Llama
    num_kv_heads: int = 0
    head_dim: int = 0
    # DeepSeek MLA
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    # DeepSeekMoE
    moe_layers: list = field(default_factory=list)  # layer indices with a MoE feed-forward
    moe_intermediate_size: int = 0
    n_shared_experts: int = 0
    router: RouterSettings = None

    @property
    def is_deepseek(self):
        return self.architecture in DEEPSEEK_ARCHS


def _get(raw, key, kind, default=None, required=False):
    value = raw.get(key, default)
    if value is None:
        if required:
            raise ConfigError(f"config.json: missing {key}")
        return default
    try:
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError("not a boolean")
            return value
        if kind is int and (isinstance(value, bool) or int(value) != value):
            raise ValueError("not an integer")
        return kind(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config.json: {key} = {value!r}: {e}") from None


def parse_config(raw):
    """raw: the parsed config.json dict -> ModelConfig (raises ConfigError)."""
    if not isinstance(raw, dict):
        raise ConfigError("config.json is not a JSON object")
    archs = raw.get("architectures") or []
    arch = archs[0] if isinstance(archs, list) and archs else None
    if arch not in DEEPSEEK_ARCHS + GQA_ARCHS:
        raise ConfigError(f"config.json: unsupported architecture {arch!r}")
    if raw.get("hidden_act", "silu") != "silu":
        raise ConfigError(f"config.json: unsupported hidden_act {raw.get('hidden_act')!r}")
    rope_scaling = raw.get("rope_scaling")
    if rope_scaling is not None and not isinstance(rope_scaling, dict):
        raise ConfigError("config.json: rope_scaling is not an object")
    cfg = ModelConfig(
        architecture=arch,
        vocab_size=_get(raw, "vocab_size", int, required=True),
        hidden_size=_get(raw, "hidden_size", int, required=True),
        num_layers=_get(raw, "num_hidden_layers", int, required=True),
        num_heads=_get(raw, "num_attention_heads", int, required=True),
        rms_norm_eps=_get(raw, "rms_norm_eps", float, 1e-6),
        rope_theta=_get(raw, "rope_theta", float, 10000.0),
        rope_scaling=rope_scaling,
        intermediate_size=_get(raw, "intermediate_size", int, required=True),
        tie_word_embeddings=_get(raw, "tie_word_embeddings", bool, False),
    )
    if min(cfg.vocab_size, cfg.hidden_size, cfg.num_heads, cfg.num_layers) < 1:
        raise ConfigError("config.json: sizes must be positive")
    if cfg.is_deepseek:
        _parse_deepseek(raw, cfg)
    else:
        _parse_gqa(raw, cfg)
    return cfg


def _parse_gqa(raw, cfg):
    cfg.num_kv_heads = _get(raw, "num_key_value_heads", int, cfg.num_heads)
    cfg.head_dim = _get(raw, "head_dim", int, cfg.hidden_size // cfg.num_heads)
    if cfg.num_kv_heads < 1 or cfg.num_heads % cfg.num_kv_heads:
        raise ConfigError("config.json: num_key_value_heads must divide num_attention_heads")
    if cfg.head_dim < 2 or cfg.head_dim % 2:
        raise ConfigError("config.json: head_dim must be even")
    if _get(raw, "use_sliding_window", bool, False):
        raise ConfigError("config.json: use_sliding_window is not supported")


def _parse_deepseek(raw, cfg):
    cfg.q_lora_rank = _get(raw, "q_lora_rank", int, 0)  # null/0: a plain q_proj
    cfg.kv_lora_rank = _get(raw, "kv_lora_rank", int, required=True)
    cfg.qk_nope_head_dim = _get(raw, "qk_nope_head_dim", int, required=True)
    cfg.qk_rope_head_dim = _get(raw, "qk_rope_head_dim", int, required=True)
    cfg.v_head_dim = _get(raw, "v_head_dim", int, required=True)
    if cfg.qk_rope_head_dim < 2 or cfg.qk_rope_head_dim % 2:
        raise ConfigError("config.json: qk_rope_head_dim must be even")
    n_routed = _get(raw, "n_routed_experts", int, 0)
    if not n_routed:
        return
    first_dense = _get(raw, "first_k_dense_replace", int, 0)
    freq = _get(raw, "moe_layer_freq", int, 1)
    if freq < 1:
        raise ConfigError("config.json: moe_layer_freq must be >= 1")
    cfg.moe_layers = [i for i in range(cfg.num_layers) if i >= first_dense and i % freq == 0]
    cfg.moe_intermediate_size = _get(raw, "moe_intermediate_size", int, required=True)
    cfg.n_shared_experts = _get(raw, "n_shared_experts", int, 0)
    is_v3 = cfg.architecture == "DeepseekV3ForCausalLM"
    cfg.router = RouterSettings(
        n_routed_experts=n_routed,
        top_k=_get(raw, "num_experts_per_tok", int, required=True),
        scoring_func=_get(raw, "scoring_func", str, "sigmoid" if is_v3 else "softmax"),
        topk_method=_get(raw, "topk_method", str, "noaux_tc" if is_v3 else "greedy"),
        n_group=_get(raw, "n_group", int, 1),
        topk_group=_get(raw, "topk_group", int, 1),
        norm_topk_prob=_get(raw, "norm_topk_prob", bool, False),
        routed_scaling_factor=_get(raw, "routed_scaling_factor", float, 1.0),
        scale_after_norm=is_v3,
    )
    try:
        cfg.router.validate()
    except Exception as e:
        raise ConfigError(f"config.json: {e}") from None


def load_config(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from None
    return parse_config(raw)
