// Q4_K, Q5_K and Q6_K quantizers: whale's own scale search.
//
// Both formats are two-level: each 256-element super-block has one fp16 super-scale (Q4_K also
// a super-min), and each sub-block a small integer multiple of it. The search goes:
//   1. per sub-block, find the real-valued scale (and min) with the least squared error:
//      try a fan of candidate scales around the range-based one, quantize with each, refit
//      the scale (and min) by least squares on the chosen quants, keep the best;
//   2. pick the super-scale(s) so the largest sub-block value uses the full integer range,
//      round each sub-block's value to that grid, then try the neighbouring grid points and
//      keep whichever gives the least error after the final quantization;
//   3. quantize the elements with the scales exactly as the decoder will see them.
// The objective is the plain squared error of dequant(quant(x)), the quantity users feel.
#include "quant/quantize_k.h"

#include <algorithm>
#include <cmath>

#include "quant/block_layout.h"

namespace whale::quant_detail {

namespace {

int nearest(float v) {
  return int(std::nearbyint(v));
}

// --- Q4_K / Q5_K: x ~ scale * q - min, q in [0, qmax], 8 sub-blocks of 32 ---

// Squared error of sub-block x (n values) quantized with the given scale and min.
float affine_error(const float* x, int n, float scale, float min, int qmax) {
  float err = 0.0f;
  float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  for (int i = 0; i < n; ++i) {
    int q = std::clamp(nearest((x[i] + min) * inv), 0, qmax);
    float e = x[i] - (scale * float(q) - min);
    err += e * e;
  }
  return err;
}

// Best real (scale >= 0, min >= 0) for one sub-block, by candidate fan + least-squares refit.
void fit_affine(const float* x, int n, int qmax, float& best_scale, float& best_min) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // the format can only subtract a min: offsets are <= 0
  if (hi <= lo) {
    best_scale = 0.0f;
    best_min = -lo;
    return;
  }
  best_scale = (hi - lo) / float(qmax);
  best_min = -lo;
  float best_err = affine_error(x, n, best_scale, best_min, qmax);
  for (int step = -10; step <= 10; ++step) {
    float scale = (hi - lo) / (float(qmax) + 0.1f * float(step));
    if (scale <= 0.0f) continue;
    // quants for this candidate, then least squares for (a, b) in x ~ a*q + b
    double sq = 0, sqq = 0, sx = 0, sxq = 0;
    int q[256];
    for (int i = 0; i < n; ++i) {
      q[i] = std::clamp(nearest((x[i] - lo) / scale), 0, qmax);
      sq += q[i];
      sqq += double(q[i]) * q[i];
      sx += x[i];
      sxq += double(x[i]) * q[i];
    }
    double det = n * sqq - sq * sq;
    double a, b;
    if (det <= 0) continue;
    a = (n * sxq - sq * sx) / det;
    b = (sx - a * sq) / n;
    if (b > 0) {  // the offset must be <= 0: refit the scale alone with b = 0
      b = 0;
      a = sqq > 0 ? sxq / sqq : 0;
    }
    if (a <= 0) continue;
    float err = affine_error(x, n, float(a), float(-b), qmax);
    if (err < best_err) {
      best_err = err;
      best_scale = float(a);
      best_min = float(-b);
    }
  }
}

// Shared by Q4_K (qmax 15) and Q5_K (qmax 31): same scale/min packing, the quants are then
// written by `store` with the final (decoder-visible) scales.
template <int kQMax, typename Store>
void quant_affine_k(const float* x, uint8_t* block, Store store) {
  float scale[8], min[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    fit_affine(x + 32 * j, 32, kQMax, scale[j], min[j]);
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, min[j]);
  }
  // Super-scales: 6-bit sub-block multipliers, so the largest maps to 63.
  store_f16(block, max_scale / 63.0f);
  store_f16(block + 2, max_min / 63.0f);
  float d = load_f16(block), dmin = load_f16(block + 2);  // as the decoder will see them
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    int s0 = d > 0.0f ? std::clamp(nearest(scale[j] / d), 0, 63) : 0;
    int m0 = dmin > 0.0f ? std::clamp(nearest(min[j] / dmin), 0, 63) : 0;
    // Rounding both to the grid independently is not jointly optimal: try the neighbours.
    float best = INFINITY;
    sc[j] = uint8_t(s0);
    mn[j] = uint8_t(m0);
    for (int s = std::max(0, s0 - 1); s <= std::min(63, s0 + 1); ++s)
      for (int m = std::max(0, m0 - 1); m <= std::min(63, m0 + 1); ++m) {
        float err = affine_error(x + 32 * j, 32, d * float(s), dmin * float(m), kQMax);
        if (err < best) {
          best = err;
          sc[j] = uint8_t(s);
          mn[j] = uint8_t(m);
        }
      }
  }
  pack_scale_min_k4(sc, mn, block + 4);
  for (int j = 0; j < 8; ++j) {
    float ds = d * float(sc[j]), dm = dmin * float(mn[j]);
    float inv = ds > 0.0f ? 1.0f / ds : 0.0f;
    for (int l = 0; l < 32; ++l)
      store(j, l, std::clamp(nearest((x[32 * j + l] + dm) * inv), 0, kQMax));
  }
}

}  // namespace

void quant_q4_k(const float* x, uint8_t* block) {
  uint8_t* qs = block + 16;
  std::fill(qs, qs + 128, 0);
  // groups 2k / 2k+1 are the low / high nibbles of the same 32 bytes
  quant_affine_k<15>(
      x, block, [qs](int j, int l, int q) { qs[32 * (j / 2) + l] |= uint8_t(q << (4 * (j % 2))); });
}

void quant_q5_k(const float* x, uint8_t* block) {
  uint8_t* qh = block + 16;
  uint8_t* qs = block + 48;
  std::fill(qh, qh + 32, 0);
  std::fill(qs, qs + 128, 0);
  // as Q4_K, plus the fifth bit of group j's element l in bit j of qh[l]
  quant_affine_k<31>(x, block, [qs, qh](int j, int l, int q) {
    qs[32 * (j / 2) + l] |= uint8_t((q & 0xF) << (4 * (j % 2)));
    qh[l] |= uint8_t((q >> 4) << j);
  });
}

// --- Q6_K: x ~ scale * q, q in [-32, 31], 16 sub-blocks of 16 ---

namespace {

float symmetric_error(const float* x, int n, float scale) {
  float err = 0.0f;
  float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (int i = 0; i < n; ++i) {
    int q = std::clamp(nearest(x[i] * inv), -32, 31);
    float e = x[i] - scale * float(q);
    err += e * e;
  }
  return err;
}

// Best real scale (any sign: q's range is asymmetric, so the sign matters) for one sub-block.
float fit_symmetric(const float* x, int n) {
  float amax = 0.0f, vmax = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      vmax = x[i];
    }
  if (amax == 0.0f) return 0.0f;
  float best_scale = vmax / -32.0f, best_err = symmetric_error(x, n, best_scale);
  for (int sign = -1; sign <= 1; sign += 2)
    for (int step = -12; step <= 12; ++step) {
      float scale = vmax / (float(sign) * (32.0f + 0.25f * float(step)));
      double sxq = 0, sqq = 0;
      for (int i = 0; i < n; ++i) {
        int q = std::clamp(nearest(x[i] / scale), -32, 31);
        sxq += double(x[i]) * q;
        sqq += double(q) * q;
      }
      if (sqq <= 0) continue;
      float refit = float(sxq / sqq);
      float err = symmetric_error(x, n, refit);
      if (err < best_err) {
        best_err = err;
        best_scale = refit;
      }
    }
  return best_scale;
}

}  // namespace

void quant_q6_k(const float* x, uint8_t* block) {
  float scale[16];
  float max_scale = 0.0f;  // signed value of largest magnitude
  for (int j = 0; j < 16; ++j) {
    scale[j] = fit_symmetric(x + 16 * j, 16);
    if (std::fabs(scale[j]) > std::fabs(max_scale)) max_scale = scale[j];
  }
  // int8 sub-scales: the largest maps to -128 (one more level than +127).
  store_f16(block + 208, max_scale / -128.0f);
  float d = load_f16(block + 208);
  auto* sc = reinterpret_cast<int8_t*>(block + 192);
  for (int j = 0; j < 16; ++j) {
    int s0 = d != 0.0f ? std::clamp(nearest(scale[j] / d), -128, 127) : 0;
    float best = INFINITY;
    for (int s = std::max(-128, s0 - 1); s <= std::min(127, s0 + 1); ++s) {
      float err = symmetric_error(x + 16 * j, 16, d * float(s));
      if (err < best) {
        best = err;
        sc[j] = int8_t(s);
      }
    }
  }
  uint8_t* ql = block;
  uint8_t* qh = block + 128;
  std::fill(ql, ql + 128, 0);
  std::fill(qh, qh + 64, 0);
  for (int i = 0; i < 256; ++i) {
    float ds = d * float(sc[i / 16]);
    int q = ds != 0.0f ? std::clamp(nearest(x[i] / ds), -32, 31) + 32 : 32;
    // Inverse of the decoder's layout: half h = i/128, l = i%32, k = (i%128)/32.
    int h = i / 128, k = (i % 128) / 32, l = i % 32;
    uint8_t& low = ql[64 * h + l + 32 * (k & 1)];
    low |= uint8_t((q & 0xF) << (4 * (k / 2)));
    qh[32 * h + l] |= uint8_t((q >> 4) << (2 * k));
  }
}

}  // namespace whale::quant_detail
