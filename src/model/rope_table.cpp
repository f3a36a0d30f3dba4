#include "model/rope_table.h"

#include <algorithm>
#include <cmath>

#include "model/weight_source.h"

namespace whale {

namespace {

std::vector<double> default_inv_freq(int64_t dim, double base) {
  std::vector<double> f;
  for (int64_t i = 0; i < dim; i += 2) f.push_back(1.0 / std::pow(base, double(i) / double(dim)));
  return f;
}

// The dimension whose wavelength turns `num_rotations` times over the original context.
double yarn_correction_dim(double num_rotations, int64_t dim, double base, double original_ctx) {
  return (double(dim) * std::log(original_ctx / (num_rotations * 2.0 * M_PI))) /
         (2.0 * std::log(base));
}

std::vector<double> yarn_inv_freq(const ModelConfig& c, int64_t dim) {
  const double base = c.rope_theta, factor = c.rope_scaling_factor;
  const double ctx = double(c.rope_original_max_position_embeddings);
  double low = std::floor(yarn_correction_dim(c.rope_beta_fast, dim, base, ctx));
  double high = std::ceil(yarn_correction_dim(c.rope_beta_slow, dim, base, ctx));
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;  // as the reference: avoids dividing by zero
  std::vector<double> f;
  for (int64_t i = 0; i < dim / 2; ++i) {
    const double extra = 1.0 / std::pow(base, double(2 * i) / double(dim));
    const double inter = 1.0 / (factor * std::pow(base, double(2 * i) / double(dim)));
    const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
    const double extra_mask = 1.0 - ramp;
    f.push_back(inter * (1.0 - extra_mask) + extra * extra_mask);
  }
  return f;
}

// HF's llama3 rule (LlamaRotaryEmbedding with rope_type "llama3"), in f64.
std::vector<double> llama3_inv_freq(const ModelConfig& c, int64_t dim) {
  std::vector<double> f = default_inv_freq(dim, c.rope_theta);
  const double factor = c.rope_scaling_factor, low = c.rope_low_freq_factor,
               high = c.rope_high_freq_factor;
  const double ctx = double(c.rope_original_max_position_embeddings);
  const double low_wavelen = ctx / low, high_wavelen = ctx / high;
  for (double& inv : f) {
    const double wavelen = 2.0 * M_PI / inv;
    const double scaled = wavelen > low_wavelen ? inv / factor : inv;
    const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
    if (medium) {
      const double smooth = (ctx / wavelen - low) / (high - low);
      inv = (1.0 - smooth) * scaled / factor + smooth * scaled;
    } else {
      inv = scaled;
    }
  }
  return f;
}

}  // namespace

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

void RopeTable::cos_sin(int64_t pos, float* cos_out, float* sin_out) const {
  const double t = double(pos) / position_scale;
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const double a = t * inv_freq[i];
    cos_out[i] = float(std::cos(a) * mscale);
    sin_out[i] = float(std::sin(a) * mscale);
  }
}

Result<RopeTable> make_rope_table(const ModelConfig& c, WeightSource& weights) {
  const int64_t dim = c.rope_dim();
  RopeTable t;
  const std::string& kind = c.rope_scaling_type;
  if (kind == "none") {
    t.inv_freq = default_inv_freq(dim, c.rope_theta);
  } else if (kind == "linear") {
    if (!(c.rope_scaling_factor > 0)) return make_error("rope_scaling factor must be positive");
    t.inv_freq = default_inv_freq(dim, c.rope_theta);
    t.position_scale = c.rope_scaling_factor;
  } else if (kind == "yarn" && c.is_mla()) {
    if (!(c.rope_scaling_factor > 0) || c.rope_original_max_position_embeddings <= 0)
      return make_error("yarn rope scaling needs a positive factor and original context");
    t.inv_freq = yarn_inv_freq(c, dim);
    // GGUF keeps only mscale_all_dim (as llama.cpp's yarn_log_multiplier); llama.cpp then
    // leaves cos/sin unscaled, i.e. assumes mscale == mscale_all_dim, as in every released
    // DeepSeek config.
    const double mscale = weights.is_gguf() ? c.rope_mscale_all_dim : c.rope_mscale;
    t.mscale = yarn_get_mscale(c.rope_scaling_factor, mscale) /
               yarn_get_mscale(c.rope_scaling_factor, c.rope_mscale_all_dim);
  } else if (kind == "llama3" && !c.is_mla()) {
    if (weights.is_gguf()) {
      auto factors = weights.vector("rope_freqs.weight", dim / 2);
      if (!factors) return factors.error();
      t.inv_freq = default_inv_freq(dim, c.rope_theta);
      for (int64_t i = 0; i < dim / 2; ++i) {
        const double f = factors.value()[i];
        if (!(f > 0)) return make_error("rope_freqs.weight holds a non-positive factor");
        t.inv_freq[size_t(i)] /= f;
      }
    } else {
      if (c.rope_original_max_position_embeddings <= 0 ||
          c.rope_high_freq_factor == c.rope_low_freq_factor)
        return make_error(
            "llama3 rope scaling needs original_max_position_embeddings and "
            "distinct low/high frequency factors");
      t.inv_freq = llama3_inv_freq(c, dim);
    }
  } else {
    return make_error("rope scaling '%s' is not supported for %s", kind.c_str(),
                      model_arch_name(c.arch));
  }
  return t;
}

double mla_softmax_scale(const ModelConfig& c) {
  double scale = 1.0 / std::sqrt(double(c.qk_nope_head_dim + c.qk_rope_head_dim));
  if (c.rope_scaling_type != "none" && c.rope_mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(c.rope_scaling_factor, c.rope_mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

}  // namespace whale
