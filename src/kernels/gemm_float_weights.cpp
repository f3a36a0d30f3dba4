// Float-weight x several-token products (gemm_float_weights.h), compiled once per Highway target.
// A tile is 4 weight rows x NT <= 4 tokens: per K step, NT activation vectors and 4 weight
// vectors (converted from f16/bf16 in registers) feed 4 * NT multiply-adds. Rows are taken in
// blocks of 16 so that a block's weights stay in L1/L2 while every group of 4 tokens passes
// over them.
//
// Reduction of a tile: the 4 row sums of one token go through sums4 (lane_reductions-inl.h),
// whose tree is the same for every token and row, whatever the tile shape (see the header).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm_float_weights.cpp"
#include "hwy/foreach_target.h"  // must precede highway.h
// clang-format off
#include "hwy/highway.h"
// clang-format on
#include "kernels/float_loads-inl.h"
#include "kernels/lane_reductions-inl.h"

#include <algorithm>
#include <cstring>

#include "kernels/gemm_float_weights.h"
#include "platform/fp16.h"

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE
#define WHALE_TILED_FLOAT_WEIGHTS 1

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// out[t][r] = W[r] . x[t] for the 4 rows w[0..3] and NT tokens x[0..NT).
template <class W, int NT>
HWY_INLINE void tile(const uint8_t* const* w, const float* const* x, int64_t K, float (*out)[4]) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  // Fully unrolled (the pragmas), so that the accumulator array lives in registers.
  VF acc[NT][4];
#pragma GCC unroll 16
  for (int i = 0; i < NT * 4; ++i) acc[i / 4][i % 4] = hn::Zero(d);
  int64_t k = 0;
  for (; k + L <= K; k += L) {
    VF xv[NT];
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) xv[t] = hn::LoadU(d, x[t] + k);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const VF wv = W::load(w[r], k);
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) acc[t][r] = hn::MulAdd(wv, xv[t], acc[t][r]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sums4(acc[t][0], acc[t][1], acc[t][2], acc[t][3], out[t]);
  if (k < K) {  // K not a multiple of the vector: the rest in scalar code
    for (int t = 0; t < NT; ++t)
      for (int r = 0; r < 4; ++r) {
        float s = 0.0f;
        for (int64_t j = k; j < K; ++j) s += W::at(w[r], j) * x[t][j];
        out[t][r] += s;
      }
  }
}

// Rows [r_begin, r_end) times tokens x[0..NT): 4 rows per tile; a last tile of fewer rows
// repeats its last row (computed, not stored).
template <class W, int NT>
HWY_INLINE void rows_times_tokens(const uint8_t* w, size_t stride, int64_t r_begin, int64_t r_end,
                                  int64_t K, const float* x, int64_t ldx, float* y, int64_t ldy) {
  const float* xs[NT];
  for (int t = 0; t < NT; ++t) xs[t] = x + t * ldx;
  for (int64_t r = r_begin; r < r_end; r += 4) {
    const uint8_t* ws[4];
    for (int i = 0; i < 4; ++i) ws[i] = w + size_t(std::min(r + i, r_end - 1)) * stride;
    float out[NT][4];
    tile<W, NT>(ws, xs, K, out);
    const int64_t nr = std::min<int64_t>(4, r_end - r);
    for (int t = 0; t < NT; ++t)
      for (int64_t i = 0; i < nr; ++i) y[t * ldy + r + i] = out[t][i];
  }
}

constexpr int64_t kRowBlock = 16;

template <class W>
void gemm_rows(const uint8_t* w, size_t stride, int64_t n_rows, int64_t K, const float* x,
               int64_t ldx, int64_t n_tok, float* y, int64_t ldy) {
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRowBlock) {
    const int64_t r1 = std::min(n_rows, r0 + kRowBlock);
    int64_t t = 0;
    for (; t + 4 <= n_tok; t += 4)
      rows_times_tokens<W, 4>(w, stride, r0, r1, K, x + t * ldx, ldx, y + t * ldy, ldy);
    switch (n_tok - t) {
      case 3:
        rows_times_tokens<W, 3>(w, stride, r0, r1, K, x + t * ldx, ldx, y + t * ldy, ldy);
        break;
      case 2:
        rows_times_tokens<W, 2>(w, stride, r0, r1, K, x + t * ldx, ldx, y + t * ldy, ldy);
        break;
      case 1:
        rows_times_tokens<W, 1>(w, stride, r0, r1, K, x + t * ldx, ldx, y + t * ldy, ldy);
        break;
      default:
        break;
    }
  }
}
#else
#define WHALE_TILED_FLOAT_WEIGHTS 0
#endif

bool GemmFloatWeights(TensorType type, const uint8_t* w, size_t row_stride, int64_t n_rows,
                      int64_t K, const float* x, int64_t ldx, int64_t n_tok, float* y,
                      int64_t ldy) {
#if WHALE_TILED_FLOAT_WEIGHTS
  switch (type) {
    case TensorType::F32:
      gemm_rows<F32Load>(w, row_stride, n_rows, K, x, ldx, n_tok, y, ldy);
      return true;
    case TensorType::F16:
      gemm_rows<F16Load>(w, row_stride, n_rows, K, x, ldx, n_tok, y, ldy);
      return true;
    case TensorType::BF16:
      gemm_rows<BF16Load>(w, row_stride, n_rows, K, x, ldx, n_tok, y, ldy);
      return true;
    default:
      return false;
  }
#else
  (void)type, (void)w, (void)row_stride, (void)n_rows, (void)K, (void)x, (void)ldx, (void)n_tok;
  (void)y, (void)ldy;
  return false;
#endif
}
#undef WHALE_TILED_FLOAT_WEIGHTS

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale {

HWY_EXPORT(GemmFloatWeights);

bool gemm_float_weights(TensorType type, const uint8_t* w, size_t row_stride, int64_t n_rows,
                        int64_t K, const float* x, int64_t ldx, int64_t n_tok, float* y,
                        int64_t ldy) {
  if (n_rows <= 0 || n_tok <= 0) return true;
  return HWY_DYNAMIC_DISPATCH(GemmFloatWeights)(type, w, row_stride, n_rows, K, x, ldx, n_tok, y,
                                                ldy);
}

void gemm_float_weights_reference(TensorType type, const uint8_t* w, size_t row_stride,
                                  int64_t n_rows, int64_t K, const float* x, int64_t ldx,
                                  int64_t n_tok, float* y, int64_t ldy) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + size_t(r) * row_stride;
    for (int64_t t = 0; t < n_tok; ++t) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        float wk;
        if (type == TensorType::F32) {
          std::memcpy(&wk, row + 4 * k, 4);
        } else {
          const uint16_t bits = uint16_t(row[2 * k] | (row[2 * k + 1] << 8));
          wk = type == TensorType::BF16 ? bf16_to_f32(bits) : f16_to_f32(bits);
        }
        s += double(wk) * double(x[t * ldx + k]);
      }
      y[t * ldy + r] = float(s);
    }
  }
}

}  // namespace whale
#endif  // HWY_ONCE
