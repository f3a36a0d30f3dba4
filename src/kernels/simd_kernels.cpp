// Per-target SIMD kernels (see simd_kernels.h). This file is compiled once per Highway target:
// foreach_target.h re-includes it with HWY_TARGET set to each target in turn.
//
// Integer products use 16-bit lanes, capped at 16 lanes (256 bits): every 32-element block is
// two halves of 16 that each fit one vector on AVX2/AVX-512, and Q6_K's 16-element scales line
// up with vector boundaries. Weights are unpacked to int16 in registers (never to memory), then
// ReorderWidenMulAccumulate (x86: vpmaddwd) forms pairwise int32 sums; each block's int32 sums
// are converted once and scaled by (weight scale * activation scale) in an f32 accumulator.
// Overflow: |w| <= 128 and |q| <= 127, so a 32-block sums to at most 32 * 16256 < 2^31.
//
// Integer products by target: AVX3_DL (AVX-512 VNNI) -> simd_vnni-inl.h (vpdpbusd, activations
// packed per call, register tiles) and simd_vnni_lanes-inl.h (16+ tokens); AVX3 and AVX2 ->
// simd_x86-inl.h (vpmaddubsw + vpmaddwd, per row), simd_x86_decode-inl.h (one token, 4 rows)
// and simd_x86_lanes-inl.h (16+ tokens); types a target has no kernel for, and other targets ->
// the portable Highway code below (formats in simd_formats-inl.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd_kernels.cpp"
#include "hwy/foreach_target.h"  // must precede highway.h
// clang-format off
#include "hwy/highway.h"
// clang-format on
#include "hwy/contrib/math/math-inl.h"
#include "kernels/float_loads-inl.h"
#include "kernels/k_quant_scales.h"
#include "kernels/lane_chunk.h"
#include "kernels/scratch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/simd_kernels.h"
#include "platform/fp16.h"
#include "platform/result.h"
#include "quant/iq4_values.h"

HWY_BEFORE_NAMESPACE();
namespace whale::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D16 = hn::CappedTag<int16_t, 16>;
using D8 = hn::Rebind<int8_t, D16>;
using DU8 = hn::Rebind<uint8_t, D16>;
using D32 = hn::Repartition<int32_t, D16>;
using DF32 = hn::Repartition<float, D16>;
using V16 = hn::Vec<D16>;

#include "kernels/simd_formats-inl.h"

// int32 lanes of sum_{e in [e_begin, e_end)} w[e] * x[e] for one 32-element sub-block.
template <class F>
HWY_INLINE hn::Vec<D32> block_isum(const F& f, int s, const int8_t* xb, int e_begin, int e_end) {
  const D16 d16;
  const D32 d32;
  const int lanes = int(hn::Lanes(d16));
  auto s0 = hn::Zero(d32), s1 = hn::Zero(d32);
  for (int e = e_begin; e < e_end; e += lanes) {
    const V16 x = hn::PromoteTo(d16, hn::LoadU(D8(), xb + e));
    s0 = hn::ReorderWidenMulAccumulate(d32, f.load(s, e), x, s0, s1);
  }
  return hn::RearrangeToOddPlusEven(s0, s1);
}

// One weight row times one quantized activation row.
template <class F>
HWY_INLINE float dot_row(F& f, const uint8_t* row, int64_t n_super, const int8_t* xq,
                         const float* xd, const float* xsum) {
  const DF32 df;
  constexpr int kSubs = F::kElems / 32;
  auto acc = hn::Zero(df);
  float min_acc = 0.0f;
  for (int64_t sb = 0; sb < n_super; ++sb) {
    f.prepare(row + sb * F::kBytes);
    for (int s = 0; s < kSubs; ++s) {
      const int64_t b = sb * kSubs + s;  // activation block index
      const int8_t* xb = xq + b * 32;
      if constexpr (F::kScale16) {
        for (int h = 0; h < 2; ++h) {
          const auto isum = block_isum(f, s, xb, 16 * h, 16 * h + 16);
          acc = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, xd[b] * f.scale[2 * s + h]), acc);
          if constexpr (kMin16Of<F>) {
            int ysum = 0;
            for (int e = 16 * h; e < 16 * h + 16; ++e) ysum += xb[e];
            min_acc += xd[b] * float(ysum) * f.min[2 * s + h];
          }
        }
      } else {
        const auto isum = block_isum(f, s, xb, 0, 32);
        acc = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, xd[b] * f.scale[s]), acc);
      }
      if constexpr (F::kHasMin) min_acc += xsum[b] * f.min[s];
    }
  }
  return hn::GetLane(hn::SumOfLanes(df, acc)) - min_acc;
}

// Rows in groups of kRowGroup: for a multi-token call the group's weights stay in L1 while
// every token passes over them (prefill reads each weight byte from memory once).
constexpr int64_t kRowGroup = 8;

template <class F>
void matvec_q8_format(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y,
                      int64_t y_stride) {
  F f;
  const int64_t n_super = w.cols / F::kElems;
  const int64_t nb = x.blocks();
  for (int64_t r0 = w.row_begin; r0 < w.row_end; r0 += kRowGroup) {
    const int64_t r1 = std::min(w.row_end, r0 + kRowGroup);
    for (int64_t t = 0; t < n_tok; ++t) {
      const int8_t* xq = x.q + t * x.cols;
      const float* xd = x.d + t * nb;
      const float* xs = x.sum + t * nb;
      for (int64_t r = r0; r < r1; ++r)
        y[t * y_stride + r] = dot_row(f, w.data + size_t(r) * w.row_stride, n_super, xq, xd, xs);
    }
  }
}

#undef WHALE_X86_INT8  // this file is compiled once per target
#undef WHALE_X86_LANES
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define WHALE_X86_INT8 1
#include "kernels/simd_x86-inl.h"
#else
#define WHALE_X86_INT8 0
#endif
#if WHALE_X86_INT8
namespace x86 {
#include "kernels/simd_x86_lanes-inl.h"
// (after the lanes: uses their helpers)
#include "kernels/simd_x86_decode-inl.h"
}  // namespace x86
#endif
// The AVX2 lane kernels serve the targets without VNNI's.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
#define WHALE_X86_LANES 1
#else
#define WHALE_X86_LANES 0
#endif
#if HWY_TARGET == HWY_AVX3_DL
#include "kernels/simd_vnni-inl.h"
namespace vnni {
#include "kernels/simd_vnni_lanes-inl.h"
}  // namespace vnni
#endif

#if HWY_TARGET == HWY_AVX3_DL
// The VNNI kernels of one weight type: the lane layout when the call made it (16+ tokens),
// else the register tiles on the packed groups; false when neither layout was made.
// Types without VNNI tiles (Tiles = void) take the lanes or nothing.
template <class Lanes, class Tiles = void>
bool vnni_product(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y, int64_t y_stride) {
  const uint8_t* lanes = Lanes::S == 8 ? x.block_lanes : x.half_lanes;
  if (lanes != nullptr) {
    vnni::lanes::matmul<Lanes>(w, lanes, n_tok, y, y_stride);
    return true;
  }
  if constexpr (!std::is_void_v<Tiles>) {
    if (x.packed != nullptr) {
      vnni::matvec<Tiles>(w, x, n_tok, y, y_stride);
      return true;
    }
  }
  return false;
}
#endif

#if WHALE_X86_INT8
// The 4-row decode (one token) of the types that have one; false for the others.
bool x86_decode_product(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y) {
  if (n_tok != 1) return false;
  switch (w.type) {
    case TensorType::Q4_0:
      x86::decode::matvec<x86::decode::Q4_0>(w, x, y);
      return true;
    case TensorType::Q8_0:
      x86::decode::matvec<x86::decode::Q8_0>(w, x, y);
      return true;
    case TensorType::Q2_K:
      x86::decode::matvec<x86::decode::Q2_K>(w, x, y);
      return true;
    case TensorType::Q3_K:
      x86::decode::matvec<x86::decode::Q3_K>(w, x, y);
      return true;
    case TensorType::Q4_K:
      x86::decode::matvec<x86::decode::Q4_K>(w, x, y);
      return true;
    case TensorType::Q5_K:
      x86::decode::matvec<x86::decode::Q5_K>(w, x, y);
      return true;
    case TensorType::Q6_K:
      x86::decode::matvec<x86::decode::Q6_K>(w, x, y);
      return true;
    default:
      return false;
  }
}
#endif

#if WHALE_X86_LANES
// The AVX2 lane kernels of one weight type when the call made their layout (16+ tokens).
template <class Lanes>
bool x86_lanes_product(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y,
                       int64_t y_stride) {
  const uint8_t* lanes = Lanes::S == 8 ? x.block_lanes : x.half_lanes;
  if (lanes != nullptr) x86::lanes::matmul<Lanes>(w, lanes, n_tok, y, y_stride);
  return lanes != nullptr;
}
#endif

void MatvecQ8(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y, int64_t y_stride) {
#if HWY_TARGET == HWY_AVX3_DL
  // Every type, decode included. (Q8_0 decode used to take the AVX2-style kernel below, which
  // kept more reads in flight than one-row VNNI tiles; VNNI decode tiles now stream 4 separate
  // rows and are faster: 1.5B Q8_0 decode 17.9-19.2 -> 18.9-20.8 tok/s, 5 alternating pairs.)
  bool done = false;
  switch (w.type) {
    case TensorType::Q8_0:
      done = vnni_product<vnni::lanes::LQ8_0, vnni::Q8_0>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q4_0:
      done = vnni_product<vnni::lanes::LQ4_0, vnni::Q4_0>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q5_0:
      done = vnni_product<vnni::lanes::LQ5_0, vnni::Q5_0>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q4_K:
      done = vnni_product<vnni::lanes::LQ4_K, vnni::Q4_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q5_K:
      done = vnni_product<vnni::lanes::LQ5_K, vnni::Q5_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q6_K:
      done = vnni_product<vnni::lanes::LQ6_K, vnni::Q6_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q4_1:
      done = vnni_product<vnni::lanes::LQ4_1>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q5_1:
      done = vnni_product<vnni::lanes::LQ5_1>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q2_K:
      done = vnni_product<vnni::lanes::LQ2_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q3_K:
      done = vnni_product<vnni::lanes::LQ3_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::IQ4_NL:
      done = vnni_product<vnni::lanes::LIQ4_NL, vnni::IQ4_NL>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::IQ4_XS:
      done = vnni_product<vnni::lanes::LIQ4_XS, vnni::IQ4_XS>(w, x, n_tok, y, y_stride);
      break;
    default:
      break;
  }
  // Few tokens of the types without VNNI tiles (Q2_K, Q3_K, Q4_1, Q5_1): the AVX2 decode where
  // it has them, else the AVX2 tiles below.
  if (done || x86_decode_product(w, x, n_tok, y)) return;
#endif
#if WHALE_X86_LANES
  if (x86_decode_product(w, x, n_tok, y)) return;
  bool done = false;
  switch (w.type) {
    case TensorType::Q8_0:
      done = x86_lanes_product<x86::lanes::LQ8_0>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q4_0:
      done = x86_lanes_product<x86::lanes::LQ4_0>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q5_0:
      done = x86_lanes_product<x86::lanes::LQ5_0>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q4_K:
      done = x86_lanes_product<x86::lanes::LQ4_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q5_K:
      done = x86_lanes_product<x86::lanes::LQ5_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q6_K:
      done = x86_lanes_product<x86::lanes::LQ6_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q4_1:
      done = x86_lanes_product<x86::lanes::LQ4_1>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q5_1:
      done = x86_lanes_product<x86::lanes::LQ5_1>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q2_K:
      done = x86_lanes_product<x86::lanes::LQ2_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::Q3_K:
      done = x86_lanes_product<x86::lanes::LQ3_K>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::IQ4_NL:
      done = x86_lanes_product<x86::lanes::LIQ4_NL>(w, x, n_tok, y, y_stride);
      break;
    case TensorType::IQ4_XS:
      done = x86_lanes_product<x86::lanes::LIQ4_XS>(w, x, n_tok, y, y_stride);
      break;
    default:
      break;
  }
  if (done) return;
#endif
#if WHALE_X86_INT8
  switch (w.type) {
    case TensorType::Q8_0:
      return x86::matvec<x86::Q8_0>(w, x, n_tok, y, y_stride);
    case TensorType::Q4_0:
      return x86::matvec<x86::Q4_0>(w, x, n_tok, y, y_stride);
    case TensorType::Q5_0:
      return x86::matvec<x86::Q5_0>(w, x, n_tok, y, y_stride);
    case TensorType::Q4_K:
      return x86::matvec<x86::Q4_K>(w, x, n_tok, y, y_stride);
    case TensorType::Q5_K:
      return x86::matvec<x86::Q5_K>(w, x, n_tok, y, y_stride);
    case TensorType::Q4_1:
      return x86::matvec<x86::Q4_1>(w, x, n_tok, y, y_stride);
    case TensorType::Q3_K:
      return x86::matvec<x86::Q3_K>(w, x, n_tok, y, y_stride);
    case TensorType::Q2_K:
      return x86::matvec<x86::Q2_K>(w, x, n_tok, y, y_stride);
    case TensorType::Q5_1:
      return x86::matvec<x86::Q5_1>(w, x, n_tok, y, y_stride);
    case TensorType::Q6_K:
      return x86::matvec<x86::Q6_K>(w, x, n_tok, y, y_stride);
    case TensorType::IQ4_NL:  // few tokens: the portable kernel
      return matvec_q8_format<IQ4Format<false>>(w, x, n_tok, y, y_stride);
    case TensorType::IQ4_XS:
      return matvec_q8_format<IQ4Format<true>>(w, x, n_tok, y, y_stride);
    default:
      return;
  }
#endif
  switch (w.type) {
    case TensorType::Q8_0:
      return matvec_q8_format<Q8_0Format>(w, x, n_tok, y, y_stride);
    case TensorType::Q4_0:
      return matvec_q8_format<Q4_0Format>(w, x, n_tok, y, y_stride);
    case TensorType::Q5_0:
      return matvec_q8_format<Q5_0Format>(w, x, n_tok, y, y_stride);
    case TensorType::Q4_K:
      return matvec_q8_format<Q4_KFormat>(w, x, n_tok, y, y_stride);
    case TensorType::Q5_K:
      return matvec_q8_format<Q5_KFormat>(w, x, n_tok, y, y_stride);
    case TensorType::Q4_1:
      return matvec_q8_format<QAffine32Format<false>>(w, x, n_tok, y, y_stride);
    case TensorType::Q3_K:
      return matvec_q8_format<Q3_KFormat>(w, x, n_tok, y, y_stride);
    case TensorType::Q2_K:
      return matvec_q8_format<Q2_KFormat>(w, x, n_tok, y, y_stride);
    case TensorType::Q5_1:
      return matvec_q8_format<QAffine32Format<true>>(w, x, n_tok, y, y_stride);
    case TensorType::Q6_K:
      return matvec_q8_format<Q6_KFormat>(w, x, n_tok, y, y_stride);
    case TensorType::IQ4_NL:
      return matvec_q8_format<IQ4Format<false>>(w, x, n_tok, y, y_stride);
    case TensorType::IQ4_XS:
      return matvec_q8_format<IQ4Format<true>>(w, x, n_tok, y, y_stride);
    default:
      return;  // callers check has_q8_kernel
  }
}

// Float weights: full-width f32 vectors; f16/bf16 are widened on load (F16C on x86).
using DF = hn::ScalableTag<float>;

// Weight rows as f32 vectors: kernels/float_loads-inl.h.
using whale::HWY_NAMESPACE::BF16Load;
using whale::HWY_NAMESPACE::F16Load;
using whale::HWY_NAMESPACE::F32Load;

template <class L>
HWY_INLINE float dot_float_row(const uint8_t* w, const float* x, int64_t n) {
  const DF df;
  const int64_t lanes = int64_t(hn::Lanes(df));
  auto a0 = hn::Zero(df), a1 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    a0 = hn::MulAdd(L::load(w, i), hn::LoadU(df, x + i), a0);
    a1 = hn::MulAdd(L::load(w, i + lanes), hn::LoadU(df, x + i + lanes), a1);
  }
  for (; i + lanes <= n; i += lanes) a0 = hn::MulAdd(L::load(w, i), hn::LoadU(df, x + i), a0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(a0, a1)));
  for (; i < n; ++i) s += L::at(w, i) * x[i];
  return s;
}

template <class L>
void matvec_float_format(const RowRange& w, const float* x, int64_t n_tok, float* y,
                         int64_t y_stride) {
  for (int64_t r0 = w.row_begin; r0 < w.row_end; r0 += kRowGroup) {
    const int64_t r1 = std::min(w.row_end, r0 + kRowGroup);
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = r0; r < r1; ++r)
        y[t * y_stride + r] =
            dot_float_row<L>(w.data + size_t(r) * w.row_stride, x + t * w.cols, w.cols);
  }
}

void MatvecFloat(const RowRange& w, const float* x, int64_t n_tok, float* y, int64_t y_stride) {
  switch (w.type) {
    case TensorType::F32:
      return matvec_float_format<F32Load>(w, x, n_tok, y, y_stride);
    case TensorType::F16:
      return matvec_float_format<F16Load>(w, x, n_tok, y, y_stride);
    case TensorType::BF16:
      return matvec_float_format<BF16Load>(w, x, n_tok, y, y_stride);
    default:
      return;  // callers check has_float_kernel
  }
}

float Dot(const float* a, const float* b, int64_t n) {
  return dot_float_row<F32Load>(reinterpret_cast<const uint8_t*>(a), b, n);
}

void Axpy(float a, const float* x, float* y, int64_t n) {
  const DF df;
  const int64_t lanes = int64_t(hn::Lanes(df));
  const auto va = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

// gate = silu(gate) * up = gate * sigmoid(gate) * up in f32 lanes, with sigmoid from
// e = exp(-|gate|) (never overflows): 1 / (1 + e) for gate >= 0, e / (1 + e) below.
void SiluMul(float* gate, const float* up, int64_t n) {
  const DF df;
  const int64_t lanes = int64_t(hn::Lanes(df));
  const auto one = hn::Set(df, 1.0f), zero = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto g = hn::LoadU(df, gate + i);
    const auto e = hn::Exp(df, hn::Neg(hn::Abs(g)));
    const auto sig = hn::Div(hn::IfThenElse(hn::Ge(g, zero), one, e), hn::Add(one, e));
    hn::StoreU(hn::Mul(hn::Mul(g, sig), hn::LoadU(df, up + i)), df, gate + i);
  }
  for (; i < n; ++i) {
    const float g = gate[i], e = std::exp(-std::fabs(g));
    gate[i] = g * ((g >= 0.0f ? 1.0f : e) / (1.0f + e)) * up[i];
  }
}

// Per 32-block: d = max|x| / 127 and q = x / d rounded to nearest (ties to even: the rounding
// instruction; Q8_0's reference rounds ties away, which differs only on exact halves).
void QuantizeQ8(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d, float* sum,
                uint8_t* packed) {
#if HWY_TARGET == HWY_AVX3_DL
  vnni::quantize_and_pack(x, n_rows, cols, q, d, sum, packed);  // packed may be null
#elif WHALE_X86_INT8
  (void)packed;  // no packed layout on this target (Q8PackedBytes is 0)
  x86::quantize_rows(x, n_rows, cols, q, d, sum);
#else
  (void)packed;
  const int64_t nb = cols / 32;
  for (int64_t t = 0; t < n_rows; ++t)
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + t * cols + b * 32;
      int8_t* qb = q + t * cols + b * 32;
      float amax = 0.0f;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
      const float db = amax / 127.0f;
      const float inv = db > 0.0f ? 1.0f / db : 0.0f;
      int isum = 0;
      for (int i = 0; i < 32; ++i) {
        qb[i] = int8_t(std::nearbyint(xb[i] * inv));
        isum += qb[i];
      }
      d[t * nb + b] = db;
      sum[t * nb + b] = db * float(isum);
    }
#endif
}

size_t Q8PackedBytes(int64_t n_rows, int64_t cols) {
#if HWY_TARGET == HWY_AVX3_DL
  return size_t(n_rows * vnni::groups_of(cols) * vnni::kGroupBytes);
#else
  (void)n_rows;
  (void)cols;
  return 0;
#endif
}

size_t Q8LaneBytes(int64_t n_rows, int64_t cols, int lane_elems) {
#if HWY_TARGET == HWY_AVX3_DL
  const int64_t chunk_bytes =
      lane_elems == 32 ? vnni::lanes::Chunk<8>::kBytes : vnni::lanes::Chunk<4>::kBytes;
  return size_t(n_rows * vnni::lanes::chunks_of(cols, lane_elems) * chunk_bytes);
#elif WHALE_X86_LANES
  const int64_t chunk_bytes =
      lane_elems == 32 ? x86::lanes::Chunk<8>::kBytes : x86::lanes::Chunk<4>::kBytes;
  return size_t(n_rows * x86::lanes::chunks_of(cols, lane_elems) * chunk_bytes);
#else
  (void)n_rows;
  (void)cols;
  (void)lane_elems;
  return 0;
#endif
}

void PackQ8Lanes(const Q8Rows& x, int64_t n_rows, int lane_elems, uint8_t* out) {
#if HWY_TARGET == HWY_AVX3_DL
  if (lane_elems == 32)
    vnni::lanes::pack<8>(x.q, x.d, x.sum, n_rows, x.cols, out);
  else
    vnni::lanes::pack<4>(x.q, x.d, x.sum, n_rows, x.cols, out);
#elif WHALE_X86_LANES
  if (lane_elems == 32)
    x86::lanes::pack<8>(x.q, x.d, x.sum, n_rows, x.cols, out);
  else
    x86::lanes::pack<4>(x.q, x.d, x.sum, n_rows, x.cols, out);
#else
  (void)x;
  (void)n_rows;
  (void)lane_elems;
  (void)out;
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace whale::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale::simd {

HWY_EXPORT(MatvecQ8);
HWY_EXPORT(MatvecFloat);
HWY_EXPORT(Dot);
HWY_EXPORT(Axpy);
HWY_EXPORT(QuantizeQ8);
HWY_EXPORT(Q8PackedBytes);
HWY_EXPORT(Q8LaneBytes);
HWY_EXPORT(PackQ8Lanes);
HWY_EXPORT(SiluMul);

void quantize_q8(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d, float* sum,
                 uint8_t* packed) {
  HWY_DYNAMIC_DISPATCH(QuantizeQ8)(x, n_rows, cols, q, d, sum, packed);
}

size_t q8_packed_bytes(int64_t n_rows, int64_t cols) {
  return HWY_DYNAMIC_DISPATCH(Q8PackedBytes)(n_rows, cols);
}

size_t q8_lane_bytes(int64_t n_rows, int64_t cols, int lane_elems) {
  return HWY_DYNAMIC_DISPATCH(Q8LaneBytes)(n_rows, cols, lane_elems);
}

void pack_q8_lanes(const Q8Rows& x, int64_t n_rows, int lane_elems, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(PackQ8Lanes)(x, n_rows, lane_elems, out);
}

int lane_elems_of(TensorType type) {
  switch (type) {
    case TensorType::Q8_0:
    case TensorType::Q4_0:
    case TensorType::Q5_0:
    case TensorType::Q4_K:
    case TensorType::Q5_K:
    case TensorType::Q4_1:
    case TensorType::Q5_1:
    case TensorType::IQ4_NL:
    case TensorType::IQ4_XS:
      return 32;
    case TensorType::Q6_K:
    case TensorType::Q2_K:
    case TensorType::Q3_K:
      return 16;
    default:
      return 0;
  }
}

bool has_q8_kernel(TensorType type) {
  switch (type) {
    case TensorType::Q8_0:
    case TensorType::Q4_0:
    case TensorType::Q5_0:
    case TensorType::Q4_K:
    case TensorType::Q5_K:
    case TensorType::Q6_K:
    case TensorType::Q4_1:
    case TensorType::Q5_1:
    case TensorType::Q3_K:
    case TensorType::Q2_K:
    case TensorType::IQ4_NL:
    case TensorType::IQ4_XS:
      return true;
    default:
      return false;
  }
}

bool has_float_kernel(TensorType type) {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
}

void matvec_q8(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(MatvecQ8)(w, x, n_tok, y, y_stride);
}

void matvec_float(const RowRange& w, const float* x, int64_t n_tok, float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(MatvecFloat)(w, x, n_tok, y, y_stride);
}

float dot(const float* a, const float* b, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n);
}

void axpy(float a, const float* x, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Axpy)(a, x, y, n);
}

void silu_mul(float* gate, const float* up, int64_t n) {
  HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, n);
}

// hwy::SupportedTargets() (Highway 1.0.3) re-detects the CPU and points the dispatcher at every
// target the CPU has before it applies DisableTargets' mask: a caller outside
// HWY_DYNAMIC_DISPATCH must point the dispatcher back at the masked set, or a capped process
// goes on running its best target.
namespace {
int64_t usable_targets() {
  const int64_t supported = hwy::SupportedTargets();
  hwy::GetChosenTarget().Update(supported);
  return supported & HWY_TARGETS;
}
}  // namespace

bool cap_target(const char* name) {
  // Highway's targets are bits where a better target has a lower value: every compiled target
  // below the named one is disabled, the named one and those above it stay.
  for (int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1) {
    const int64_t target = bits & -bits;
    if (std::strcmp(hwy::TargetName(target), name) != 0) continue;
    hwy::DisableTargets(HWY_TARGETS & (target - 1));
    return usable_targets() != 0;
  }
  return false;
}

std::string compiled_target_names() {
  std::string names;
  for (int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1)
    names += std::string(names.empty() ? "" : " ") + hwy::TargetName(bits & -bits);
  return names;
}

const char* active_target_name() {
  // The dispatcher takes the best (lowest-valued) target that is both compiled and supported.
  const int64_t usable = usable_targets();
  return hwy::TargetName(usable & -usable);
}

}  // namespace whale::simd
#endif  // HWY_ONCE
