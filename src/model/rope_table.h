// Rotary position embedding tables from a model's config: the per-pair inverse frequencies, the
// cos/sin multiplier and the position divisor, exactly as the official references build them:
//   default  inv_freq[i] = theta^(-2i/d)
//   linear   positions divided by the factor
//   llama3   wavelength-banded scaling (HF: from config.json in f64; GGUF: base frequencies
//            divided by the rope_freqs.weight factors llama.cpp's converter stored)
//   yarn     DeepSeek's DeepseekV2YarnRotaryEmbedding: interpolated and extrapolated
//            frequencies mixed by a linear ramp between the correction dims of beta_fast and
//            beta_slow over the original context; cos/sin multiplied by
//            yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim)
#pragma once

#include <cstdint>
#include <vector>

#include "formats/model_config.h"
#include "platform/result.h"

namespace whale {

class WeightSource;

struct RopeTable {
  std::vector<double> inv_freq;  // rope_dim / 2 values
  double mscale = 1.0;           // multiplies cos and sin
  double position_scale = 1.0;   // positions are divided by this (linear scaling)

  // cos/sin (times mscale) of each pair's angle at `pos`: rope_dim / 2 values each.
  void cos_sin(int64_t pos, float* cos_out, float* sin_out) const;
};

// DeepSeek's yarn_get_mscale: 0.1 * mscale * ln(scale) + 1 for scale > 1, else 1.
double yarn_get_mscale(double scale, double mscale);

// The table for the model's rotary dims (head_dim, or qk_rope_head_dim for MLA). `weights` gives
// the llama3 factors of a GGUF file and says which facts the file kind carries.
Result<RopeTable> make_rope_table(const ModelConfig& c, WeightSource& weights);

// The MLA softmax scale: (nope + rope)^-0.5, times yarn_get_mscale(factor, mscale_all_dim)^2
// when rope scaling is on and mscale_all_dim is set (DeepSeek's reference).
double mla_softmax_scale(const ModelConfig& c);

}  // namespace whale
