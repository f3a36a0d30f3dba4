"""Rotary position embedding tables and the two application conventions.

Frequencies follow the public Hugging Face modeling code of each family:
- default:  inv_freq[i] = 1 / base^(2i/d)
- linear:   positions divided by the factor
- llama3:   wavelength-banded scaling (factor, low/high_freq_factor, original context)
- yarn (DeepSeek's DeepseekV2YarnRotaryEmbedding): interpolation/extrapolation mix by a linear
  ramp between the correction dims of beta_fast/beta_slow, cos/sin scaled by
  yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim)
All math is done in the caller's dtype (float64 for the oracle) rather than float32.
"""

import math

import torch


class RopeConfigError(Exception):
    pass


def yarn_get_mscale(scale=1.0, mscale=1.0):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_find_correction_dim(num_rotations, dim, base, max_position_embeddings):
    # The dimension whose wavelength makes `num_rotations` turns over the original context.
    return (dim * math.log(max_position_embeddings / (num_rotations * 2 * math.pi))) / (
        2 * math.log(base)
    )


def yarn_find_correction_range(low_rot, high_rot, dim, base, max_position_embeddings):
    low = math.floor(yarn_find_correction_dim(low_rot, dim, base, max_position_embeddings))
    high = math.ceil(yarn_find_correction_dim(high_rot, dim, base, max_position_embeddings))
    return max(low, 0), min(high, dim - 1)


def yarn_linear_ramp_mask(low, high, n, dtype):
    if low == high:
        high += 0.001  # avoids a division by zero, as the reference does
    ramp = (torch.arange(n, dtype=dtype) - low) / (high - low)
    return torch.clamp(ramp, 0, 1)


def default_inv_freq(dim, base, dtype):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=dtype) / dim))


def yarn_inv_freq(dim, base, factor, original_max_pos, beta_fast, beta_slow, dtype):
    freq_extra = default_inv_freq(dim, base, dtype)
    freq_inter = 1.0 / (factor * base ** (torch.arange(0, dim, 2, dtype=dtype) / dim))
    low, high = yarn_find_correction_range(beta_fast, beta_slow, dim, base, original_max_pos)
    extra_mask = 1.0 - yarn_linear_ramp_mask(low, high, dim // 2, dtype)
    return freq_inter * (1 - extra_mask) + freq_extra * extra_mask


def llama3_inv_freq(dim, base, factor, low_freq_factor, high_freq_factor, original_max_pos, dtype):
    inv_freq = default_inv_freq(dim, base, dtype)
    low_freq_wavelen = original_max_pos / low_freq_factor
    high_freq_wavelen = original_max_pos / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (original_max_pos / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, scaled)


class RopeTable:
    """inv_freq plus the cos/sin multiplier and position divisor of one model."""

    def __init__(self, inv_freq, mscale=1.0, position_scale=1.0):
        self.inv_freq = inv_freq
        self.mscale = mscale
        self.position_scale = position_scale

    def cos_sin(self, positions):
        """cos, sin of shape [len(positions), dim] (the halves repeated: cat(freqs, freqs))."""
        t = positions.to(self.inv_freq.dtype) / self.position_scale
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos() * self.mscale, emb.sin() * self.mscale


def rope_scaling_type(rope_scaling):
    if not rope_scaling:
        return None
    kind = rope_scaling.get("type", rope_scaling.get("rope_type"))
    return None if kind == "default" else kind


def make_rope_table(dim, base, rope_scaling, dtype, families):
    """Builds the table for a config's rope_scaling; `families` lists the kinds allowed."""
    kind = rope_scaling_type(rope_scaling)
    if kind is None:
        return RopeTable(default_inv_freq(dim, base, dtype))
    if kind not in families:
        raise RopeConfigError(f"rope_scaling type {kind!r} is not supported for this model")
    try:
        factor = float(rope_scaling["factor"])
        if kind == "linear":
            return RopeTable(default_inv_freq(dim, base, dtype), position_scale=factor)
        if kind == "yarn":
            inv_freq = yarn_inv_freq(
                dim,
                base,
                factor,
                rope_scaling.get("original_max_position_embeddings", 4096),
                rope_scaling.get("beta_fast", 32),
                rope_scaling.get("beta_slow", 1),
                dtype,
            )
            mscale = yarn_get_mscale(factor, rope_scaling.get("mscale", 1)) / yarn_get_mscale(
                factor, rope_scaling.get("mscale_all_dim", 0)
            )
            return RopeTable(inv_freq, mscale=mscale)
        if kind == "llama3":
            inv_freq = llama3_inv_freq(
                dim,
                base,
                factor,
                float(rope_scaling["low_freq_factor"]),
                float(rope_scaling["high_freq_factor"]),
                float(rope_scaling["original_max_position_embeddings"]),
                dtype,
            )
            return RopeTable(inv_freq)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        raise RopeConfigError(f"rope_scaling {rope_scaling}: {e!r}") from None
    raise RopeConfigError(f"rope_scaling type {kind!r} is not supported")


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope_half(x, cos, sin):
    """Llama/Qwen convention: x [..., seq, d], cos/sin [seq, d]."""
    return x * cos + rotate_half(x) * sin


def deinterleave(x):
    """DeepSeek's reorder: [x0, x1, x2, x3, ...] -> [x0, x2, ..., x1, x3, ...]
    (view(d//2, 2).transpose(-1, -2).reshape(d)), so that the rotate_half formula rotates the
    interleaved pairs (x[2i], x[2i+1]) by frequency i. The result stays in the reordered layout."""
    d = x.shape[-1]
    return x.reshape(*x.shape[:-1], d // 2, 2).transpose(-1, -2).reshape(*x.shape[:-1], d)


def apply_rope_deepseek(x, cos, sin):
    return apply_rope_half(deinterleave(x), cos, sin)
