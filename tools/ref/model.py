"""The reference decoder: load_model(dir) -> Model; Model.forward(ids) -> logits [n, vocab].

Everything is configured from config.json; weights are upcast from their stored dtype (BF16,
F16, F32, FP8 E4M3 with block scales) to the compute dtype (float64 by default).
"""

import torch

from attention import GqaAttention, MlaAttention, rms_norm
from feed_forward import DeepSeekMoe, DenseMlp
from model_config import ConfigError, load_config
from rope import RopeConfigError, make_rope_table
from safetensors_io import Checkpoint, CheckpointError


class ReferenceError(Exception):
    """Any problem with a model directory or the input ids; one line for the user."""


class Weights:
    """Named tensors of a checkpoint in the compute dtype, converted once and cached.

    With keep=False nothing is cached: each use re-reads the memory-mapped file, so a model
    larger than RAM in the compute dtype still runs (slowly), one tensor at a time."""

    def __init__(self, checkpoint, dtype, keep=True):
        self.ckpt = checkpoint
        self.dtype = dtype
        self.keep = keep
        self.cache = {}
        self.names_read = set()  # lets tests see which tensors a forward pass used

    def __contains__(self, name):
        return name in self.ckpt

    def get(self, name):
        if name in self.cache:
            return self.cache[name]
        self.names_read.add(name)
        try:
            tensor = torch.from_numpy(self.ckpt.read(name)).to(self.dtype)
        except CheckpointError as e:
            raise ReferenceError(str(e)) from None
        if self.keep:
            self.cache[name] = tensor
        return tensor

    def linear(self, x, prefix):
        """x @ W^T (+ bias when the checkpoint has one: Qwen2 q/k/v, attention_bias models)."""
        y = x @ self.get(prefix + ".weight").t()
        if prefix + ".bias" in self.ckpt:
            y = y + self.get(prefix + ".bias")
        return y


def _expected_shapes(cfg):
    """Shapes of every tensor the forward pass reads, checked up front for clear errors."""
    h, shapes = cfg.hidden_size, {}
    shapes["model.embed_tokens.weight"] = [cfg.vocab_size, h]
    shapes["model.norm.weight"] = [h]
    if not cfg.tie_word_embeddings:
        shapes["lm_head.weight"] = [cfg.vocab_size, h]
    for i in range(cfg.num_layers):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = [h]
        shapes[p + "post_attention_layernorm.weight"] = [h]
        a = p + "self_attn."
        if cfg.is_deepseek:
            qk = cfg.qk_nope_head_dim + cfg.qk_rope_head_dim
            if cfg.q_lora_rank:
                shapes[a + "q_a_proj.weight"] = [cfg.q_lora_rank, h]
                shapes[a + "q_a_layernorm.weight"] = [cfg.q_lora_rank]
                shapes[a + "q_b_proj.weight"] = [cfg.num_heads * qk, cfg.q_lora_rank]
            else:
                shapes[a + "q_proj.weight"] = [cfg.num_heads * qk, h]
            shapes[a + "kv_a_proj_with_mqa.weight"] = [cfg.kv_lora_rank + cfg.qk_rope_head_dim, h]
            shapes[a + "kv_a_layernorm.weight"] = [cfg.kv_lora_rank]
            shapes[a + "kv_b_proj.weight"] = [
                cfg.num_heads * (cfg.qk_nope_head_dim + cfg.v_head_dim),
                cfg.kv_lora_rank,
            ]
            shapes[a + "o_proj.weight"] = [h, cfg.num_heads * cfg.v_head_dim]
        else:
            shapes[a + "q_proj.weight"] = [cfg.num_heads * cfg.head_dim, h]
            shapes[a + "k_proj.weight"] = [cfg.num_kv_heads * cfg.head_dim, h]
            shapes[a + "v_proj.weight"] = [cfg.num_kv_heads * cfg.head_dim, h]
            shapes[a + "o_proj.weight"] = [h, cfg.num_heads * cfg.head_dim]
        m = p + "mlp."
        if i in cfg.moe_layers:
            r, inter = cfg.router, cfg.moe_intermediate_size
            shapes[m + "gate.weight"] = [r.n_routed_experts, h]
            if r.topk_method == "noaux_tc":
                shapes[m + "gate.e_score_correction_bias"] = [r.n_routed_experts]
            for e in range(r.n_routed_experts):
                _mlp_shapes(shapes, f"{m}experts.{e}.", h, inter)
            if cfg.n_shared_experts:
                _mlp_shapes(shapes, m + "shared_experts.", h, inter * cfg.n_shared_experts)
        else:
            _mlp_shapes(shapes, m, h, cfg.intermediate_size)
    return shapes


def _mlp_shapes(shapes, prefix, hidden, inter):
    shapes[prefix + "gate_proj.weight"] = [inter, hidden]
    shapes[prefix + "up_proj.weight"] = [inter, hidden]
    shapes[prefix + "down_proj.weight"] = [hidden, inter]


class Model:
    def __init__(self, cfg, weights, mla_form="expanded"):
        self.cfg = cfg
        self.w = weights
        self.mla_form = mla_form
        dtype = weights.dtype
        try:
            if cfg.is_deepseek:
                self.rope = make_rope_table(
                    cfg.qk_rope_head_dim, cfg.rope_theta, cfg.rope_scaling, dtype,
                    ("linear", "yarn"))
            else:
                self.rope = make_rope_table(
                    cfg.head_dim, cfg.rope_theta, cfg.rope_scaling, dtype, ("linear", "llama3"))
        except RopeConfigError as e:
            raise ReferenceError(f"config.json: {e}") from None
        # Layers >= num_hidden_layers (DeepSeek-V3's MTP module) are never read.
        self.layers = []
        for i in range(cfg.num_layers):
            p = f"model.layers.{i}."
            if cfg.is_deepseek:
                attn = MlaAttention(weights, p + "self_attn.", cfg, self.rope, mla_form)
            else:
                attn = GqaAttention(weights, p + "self_attn.", cfg, self.rope)
            if i in cfg.moe_layers:
                ffn = DeepSeekMoe(weights, p + "mlp.", cfg)
            else:
                ffn = DenseMlp(weights, p + "mlp.")
            self.layers.append((p, attn, ffn))

    def validate(self):
        for name, shape in _expected_shapes(self.cfg).items():
            if name not in self.w:
                raise ReferenceError(f"checkpoint has no tensor {name}")
            got = self.w.ckpt.shape(name)
            if got != shape:
                raise ReferenceError(f"tensor {name}: shape {got}, expected {shape}")
        for i in range(self.cfg.num_layers):
            if f"model.layers.{i}.self_attn.kv_b_proj.bias" in self.w:
                raise ReferenceError("kv_b_proj.bias is not part of MLA")

    def _check_ids(self, ids):
        ids = [int(t) for t in ids]
        if not ids:
            raise ReferenceError("no token ids")
        bad = [t for t in ids if not 0 <= t < self.cfg.vocab_size]
        if bad:
            raise ReferenceError(f"token id {bad[0]} outside [0, {self.cfg.vocab_size})")
        return torch.tensor(ids, dtype=torch.long)

    def _chunk(self, ids, start, caches):
        eps = self.cfg.rms_norm_eps
        x = self.w.get("model.embed_tokens.weight")[ids]
        for (p, attn, ffn), cache in zip(self.layers, caches):
            h = rms_norm(x, self.w.get(p + "input_layernorm.weight"), eps)
            x = x + attn(h, start, cache)
            h = rms_norm(x, self.w.get(p + "post_attention_layernorm.weight"), eps)
            x = x + ffn(h)
        x = rms_norm(x, self.w.get("model.norm.weight"), eps)
        head = "model.embed_tokens.weight" if self.cfg.tie_word_embeddings else "lm_head.weight"
        return x @ self.w.get(head).t()

    def new_cache(self):
        return [{} for _ in self.layers]

    def forward(self, ids):
        """Prefill: all ids at once, positions 0..n-1; returns logits [n, vocab]."""
        ids = self._check_ids(ids)
        with torch.no_grad():
            return self._chunk(ids, 0, self.new_cache())

    def decode(self, ids):
        """Feeds ids one at a time through the KV cache; returns every position's logits."""
        ids = self._check_ids(ids)
        caches = self.new_cache()
        rows = []
        with torch.no_grad():
            for pos in range(len(ids)):
                rows.append(self._chunk(ids[pos : pos + 1], pos, caches))
        return torch.cat(rows, dim=0)


def load_model(model_dir, dtype=torch.float64, mla="expanded", keep_weights=True):
    """Opens an HF directory (config.json + safetensors); raises ReferenceError on bad input."""
    if mla not in ("expanded", "absorbed"):
        raise ReferenceError(f"--mla must be expanded or absorbed, not {mla!r}")
    try:
        cfg = load_config(model_dir)
        checkpoint = Checkpoint(model_dir)
    except (ConfigError, CheckpointError) as e:
        raise ReferenceError(str(e)) from None
    except OSError as e:
        raise ReferenceError(f"{model_dir}: {e}") from None
    model = Model(cfg, Weights(checkpoint, dtype, keep_weights), mla)
    model.validate()
    return model
