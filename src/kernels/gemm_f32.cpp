// f32 products for attention (gemm_f32.h), compiled once per Highway target and dispatched at
// run time. Tiles of up to kRowTile query rows (6 on AVX-512, 4 on AVX2):
//   abt:    rows x 4 keys, vectors along K: 4 key loads and one load per row feed 4 multiply-adds
//           per row; each sum is reduced once at the end of the tile.
//   ab_acc: rows x 2 vectors of N: per k, two loads of b and one broadcast of a per row feed
//           2 multiply-adds per row; c is loaded once and stored once per tile.
// Tails (keys, columns, K not a multiple of the vector) take the narrower paths below. Tiles
// keep their accumulators in arrays of vectors, which sizeless SVE/RVV vectors do not allow:
// those targets take the narrow paths only.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm_f32.cpp"
#include "hwy/foreach_target.h"  // must precede highway.h
// clang-format off
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "kernels/float_loads-inl.h"
#include "kernels/lane_reductions-inl.h"
// clang-format on

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/gemm_f32.h"
#include "kernels/row_tiles.h"
#include "platform/fp16.h"

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

HWY_INLINE float sum_lanes(VF v) {
  return hn::GetLane(hn::SumOfLanes(DF(), v));
}

// The K tail (fewer than one vector) of one dot product, in scalar code.
// b is a row of W's elements (F32Load: f32, F16Load: an f16 KV cache).
template <class W>
HWY_INLINE float dot_tail(const float* a, const uint8_t* b, int64_t k0, int64_t K) {
  float s = 0.0f;
  for (int64_t k = k0; k < K; ++k) s += a[k] * W::at(b, k);
  return s;
}

// The first row pass over a tile of keys also requests the keys kPrefetchKeys rows ahead, one
// cache line per row per step, when those are keys of this product (past the last key may be
// another layer's rows in a paged cache; the caller prefetches its next block itself). Decode
// attention streams the whole cache from memory at a few GB/s per core, and the hardware
// prefetchers did not keep 4 interleaved row streams ahead: ~10% on a 4096-row MLA cache.
constexpr int64_t kPrefetchKeys = 32;

// Query rows per tile. A GQA group of 6 heads (Qwen2-1.5B) or 5 or 7 (the larger distills)
// in one pass reads each key and value row from L1 once, not once per 4-row pass plus once per
// leftover row. abt holds rows x 4 accumulators + 4 keys + 1 row in registers: 6 rows fit the
// 32 of AVX-512, 4 rows the 16 of AVX2 (with a few spills, as before).
constexpr int kRowTile = HWY_MAX_BYTES >= 64 ? 6 : 4;

#if !HWY_HAVE_SCALABLE
// Rows a[0..MR) times keys b0..b3 (both along K): c[i][j] for the MR x 4 tile. Every element is
// one multiply-add chain along K, reduced by sums4, like dot_1x1 below.
template <class W, int MR, bool kPrefetch>
HWY_INLINE void abt_tile(int64_t K, const float* a, int64_t lda, const uint8_t* b, int64_t ldb,
                         float* c, int64_t ldc, float alpha) {
  const int64_t row = ldb * W::kBytes;  // bytes between keys
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  VF acc[MR][4];
#pragma GCC unroll 32
  for (int i = 0; i < MR * 4; ++i) acc[i / 4][i % 4] = hn::Zero(d);
  int64_t k = 0;
  for (; k + L <= K; k += L) {
    const VF v0 = W::load(b, k), v1 = W::load(b + row, k);
    const VF v2 = W::load(b + 2 * row, k), v3 = W::load(b + 3 * row, k);
    if constexpr (kPrefetch) {
      const uint8_t* ahead = b + kPrefetchKeys * row + k * W::kBytes;
      for (int r = 0; r < 4; ++r) __builtin_prefetch(ahead + r * row, 0, 3);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const VF u = hn::LoadU(d, a + i * lda + k);
      acc[i][0] = hn::MulAdd(u, v0, acc[i][0]), acc[i][1] = hn::MulAdd(u, v1, acc[i][1]);
      acc[i][2] = hn::MulAdd(u, v2, acc[i][2]), acc[i][3] = hn::MulAdd(u, v3, acc[i][3]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float sums[4];
    sums4(acc[i][0], acc[i][1], acc[i][2], acc[i][3], sums);
    for (int j = 0; j < 4; ++j)
      c[i * ldc + j] = alpha * (sums[j] + dot_tail<W>(a + i * lda, b + j * row, k, K));
  }
}
#endif

// One row times one key, computed exactly like one element of abt_tile (one accumulator, the
// same reduction), so an element's value does not depend on whether it fell in a tile or in a
// row/key tail: splitting the keys into several products (cache pages) changes no bit.
template <class W>
HWY_INLINE float dot_1x1(int64_t K, const float* a, const uint8_t* b) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  VF s = hn::Zero(d);
  int64_t k = 0;
  for (; k + L <= K; k += L) s = hn::MulAdd(hn::LoadU(d, a + k), W::load(b, k), s);
  float sums[4];
  sums4(s, s, s, s, sums);
  return sums[0] + dot_tail<W>(a, b, k, K);
}

// Rows [0, MR) of a against all N keys: tiles of 4 keys, then the key tail one by one.
template <class W, int MR>
HWY_INLINE void abt_rows(bool first_pass, int64_t N, int64_t K, const float* a, int64_t lda,
                         const uint8_t* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  const int64_t row = ldb * W::kBytes;
  int64_t n = 0;
#if !HWY_HAVE_SCALABLE
  for (; n + 4 <= N; n += 4) {
    if (first_pass && n + 4 + kPrefetchKeys <= N)
      abt_tile<W, MR, true>(K, a, lda, b + n * row, ldb, c + n, ldc, alpha);
    else
      abt_tile<W, MR, false>(K, a, lda, b + n * row, ldb, c + n, ldc, alpha);
  }
#endif
  for (int i = 0; i < MR; ++i)
    for (int64_t j = n; j < N; ++j)
      c[i * ldc + j] = alpha * dot_1x1<W>(K, a + i * lda, b + j * row);
}

template <class W>
void gemm_abt(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint8_t* b,
              int64_t ldb, float* c, int64_t ldc, float alpha) {
  for (int64_t m = 0; m < M;) {
    const int64_t mr = std::min<int64_t>(kRowTile, M - m);
    with_row_count<kRowTile>(mr, [&]<int MR>() {
      abt_rows<W, MR>(m == 0, N, K, a + m * lda, lda, b, ldb, c + m * ldc, ldc, alpha);
    });
    m += mr;
  }
}

void GemmAbt(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, float alpha) {
  gemm_abt<F32Load>(M, N, K, a, lda, reinterpret_cast<const uint8_t*>(b), ldb, c, ldc, alpha);
}

void GemmAbtF16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* b,
                int64_t ldb, float* c, int64_t ldc, float alpha) {
  gemm_abt<F16Load>(M, N, K, a, lda, reinterpret_cast<const uint8_t*>(b), ldb, c, ldc, alpha);
}

void GemmAbtBF16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* b,
                 int64_t ldb, float* c, int64_t ldc, float alpha) {
  gemm_abt<BF16Load>(M, N, K, a, lda, reinterpret_cast<const uint8_t*>(b), ldb, c, ldc, alpha);
}

#if !HWY_HAVE_SCALABLE
// c rows [0, MR), columns [0, 2L) += a (MR rows) x b (K rows of the same columns). Each element
// is one multiply-add chain along k, like ab_1x1v.
template <class W, int MR>
HWY_INLINE void ab_tile(int64_t K, const float* a, int64_t lda, const uint8_t* b, int64_t ldb,
                        float* c, int64_t ldc) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  VF acc[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    acc[i][0] = hn::LoadU(d, c + i * ldc), acc[i][1] = hn::LoadU(d, c + i * ldc + L);
  for (int64_t k = 0; k < K; ++k) {
    const uint8_t* bk = b + k * ldb * W::kBytes;
    const VF v0 = W::load(bk, 0), v1 = W::load(bk, L);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const VF u = hn::Set(d, a[i * lda + k]);
      acc[i][0] = hn::MulAdd(u, v0, acc[i][0]), acc[i][1] = hn::MulAdd(u, v1, acc[i][1]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    hn::StoreU(acc[i][0], d, c + i * ldc), hn::StoreU(acc[i][1], d, c + i * ldc + L);
}
#endif

// One row of c, columns [n, n + L) += a (one row) x b.
template <class W>
HWY_INLINE void ab_1x1v(int64_t K, const float* a, const uint8_t* b, int64_t ldb, float* c) {
  const DF d;
  VF acc = hn::LoadU(d, c);
  for (int64_t k = 0; k < K; ++k)
    acc = hn::MulAdd(hn::Set(d, a[k]), W::load(b + k * ldb * W::kBytes, 0), acc);
  hn::StoreU(acc, d, c);
}

// Rows [0, MR) of c += a x b: tiles of 2 vectors of columns, then single vectors, then scalars.
template <class W, int MR>
HWY_INLINE void ab_rows(int64_t N, int64_t K, const float* a, int64_t lda, const uint8_t* b,
                        int64_t ldb, float* c, int64_t ldc) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  int64_t n = 0;
#if !HWY_HAVE_SCALABLE
  for (; n + 2 * L <= N; n += 2 * L) ab_tile<W, MR>(K, a, lda, b + n * W::kBytes, ldb, c + n, ldc);
#endif
  for (int i = 0; i < MR; ++i) {
    int64_t j = n;
    for (; j + L <= N; j += L) ab_1x1v<W>(K, a + i * lda, b + j * W::kBytes, ldb, c + i * ldc + j);
    for (; j < N; ++j) {
      float s = c[i * ldc + j];
      for (int64_t k = 0; k < K; ++k) s += a[i * lda + k] * W::at(b, k * ldb + j);
      c[i * ldc + j] = s;
    }
  }
}

template <class W>
void gemm_ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint8_t* b,
                 int64_t ldb, float* c, int64_t ldc) {
  for (int64_t m = 0; m < M;) {
    const int64_t mr = std::min<int64_t>(kRowTile, M - m);
    with_row_count<kRowTile>(
        mr, [&]<int MR>() { ab_rows<W, MR>(N, K, a + m * lda, lda, b, ldb, c + m * ldc, ldc); });
    m += mr;
  }
}

void GemmAbAcc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc) {
  gemm_ab_acc<F32Load>(M, N, K, a, lda, reinterpret_cast<const uint8_t*>(b), ldb, c, ldc);
}

void GemmAbAccF16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* b,
                  int64_t ldb, float* c, int64_t ldc) {
  gemm_ab_acc<F16Load>(M, N, K, a, lda, reinterpret_cast<const uint8_t*>(b), ldb, c, ldc);
}

void GemmAbAccBF16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* b,
                   int64_t ldb, float* c, int64_t ldc) {
  gemm_ab_acc<BF16Load>(M, N, K, a, lda, reinterpret_cast<const uint8_t*>(b), ldb, c, ldc);
}

float OnlineSoftmaxBlock(float* s, int64_t n, int64_t n_pad, float* max, float* sum) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  std::fill(s + n, s + n_pad, 0.0f);
  if (n <= 0) return 1.0f;
  const float mx = max_of(s, n, *max);
  const VF vm = hn::Set(d, mx);
  VF vsum = hn::Zero(d);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const VF e = hn::Exp(d, hn::Sub(hn::LoadU(d, s + i), vm));
    hn::StoreU(e, d, s + i);
    vsum = hn::Add(vsum, e);
  }
  float block_sum = sum_lanes(vsum);
  for (; i < n; ++i) {
    s[i] = std::exp(s[i] - mx);
    block_sum += s[i];
  }
  // The old max is -inf only before the first key: the (zero) accumulators get factor 0.
  const float factor = *max == mx ? 1.0f : std::isinf(*max) ? 0.0f : std::exp(*max - mx);
  *sum = *sum * factor + block_sum;
  *max = mx;
  return factor;
}

void ScaleF32(float* x, int64_t n, float f) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  const VF vf = hn::Set(d, f);
  int64_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vf), d, x + i);
  for (; i < n; ++i) x[i] *= f;
}

template <typename T>
uint16_t half_bits(const T* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof(bits));
  return bits;
}

void WidenHalf(const void* src, bool bf16, float* dst, int64_t n) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  int64_t i = 0;
  if (bf16) {
    const hn::Rebind<hwy::bfloat16_t, DF> dh;
    const auto* p = static_cast<const hwy::bfloat16_t*>(src);
    for (; i + L <= n; i += L) hn::StoreU(hn::PromoteTo(d, hn::LoadU(dh, p + i)), d, dst + i);
    for (; i < n; ++i) dst[i] = bf16_to_f32(half_bits(p + i));
  } else {
    const hn::Rebind<hwy::float16_t, DF> dh;
    const auto* p = static_cast<const hwy::float16_t*>(src);
    for (; i + L <= n; i += L) hn::StoreU(hn::PromoteTo(d, hn::LoadU(dh, p + i)), d, dst + i);
    for (; i < n; ++i) dst[i] = f16_to_f32(half_bits(p + i));
  }
}

// f32 -> f16, rounding to nearest even; magnitudes beyond f16's range saturate at +-65504
// rather than becoming infinities (a key of inf would turn every score into NaN). Vectors only
// where the conversion is an instruction (F16C: AVX2 and up, which rounds to nearest even);
// Highway's emulation on older targets rounds differently, so they take the scalar loop.
void NarrowF16(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  const hn::Rebind<hwy::float16_t, DF> dh;
  const VF hi = hn::Set(d, 65504.0f), lo = hn::Set(d, -65504.0f);
  auto* out = reinterpret_cast<hwy::float16_t*>(dst);
  for (; i + L <= n; i += L)
    hn::StoreU(hn::DemoteTo(dh, hn::Min(hn::Max(hn::LoadU(d, src + i), lo), hi)), dh, out + i);
#endif
  for (; i < n; ++i) dst[i] = f32_to_f16(std::clamp(src[i], -65504.0f, 65504.0f));
}

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale {

HWY_EXPORT(GemmAbt);
HWY_EXPORT(GemmAbAcc);
HWY_EXPORT(GemmAbtF16);
HWY_EXPORT(GemmAbAccF16);
HWY_EXPORT(GemmAbtBF16);
HWY_EXPORT(GemmAbAccBF16);
HWY_EXPORT(NarrowF16);
HWY_EXPORT(WidenHalf);
HWY_EXPORT(OnlineSoftmaxBlock);
HWY_EXPORT(ScaleF32);

float online_softmax_block(float* s, int64_t n, int64_t n_pad, float* max, float* sum) {
  return HWY_DYNAMIC_DISPATCH(OnlineSoftmaxBlock)(s, n, n_pad, max, sum);
}

float online_softmax_block_reference(float* s, int64_t n, int64_t n_pad, float* max, float* sum) {
  for (int64_t j = n; j < n_pad; ++j) s[j] = 0.0f;
  if (n <= 0) return 1.0f;
  double mx = *max;
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, double(s[j]));
  double block_sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const double e = std::exp(double(s[j]) - mx);
    s[j] = float(e);
    block_sum += e;
  }
  const double factor = std::isinf(*max) ? 0.0 : std::exp(double(*max) - mx);
  *sum = float(double(*sum) * factor + block_sum);
  *max = float(mx);
  return float(factor);
}

void scale_f32(float* x, int64_t n, float f) {
  HWY_DYNAMIC_DISPATCH(ScaleF32)(x, n, f);
}

void widen_half_to_f32(const void* src, bool bf16, float* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(WidenHalf)(src, bf16, dst, n);
}

void gemm_f32_abt(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, float alpha) {
  if (M > 0 && N > 0) HWY_DYNAMIC_DISPATCH(GemmAbt)(M, N, K, a, lda, b, ldb, c, ldc, alpha);
}

void gemm_f32_ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float* c, int64_t ldc) {
  if (M > 0 && N > 0 && K > 0) HWY_DYNAMIC_DISPATCH(GemmAbAcc)(M, N, K, a, lda, b, ldb, c, ldc);
}

void gemm_f32_abt_f16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                      const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  if (M > 0 && N > 0) HWY_DYNAMIC_DISPATCH(GemmAbtF16)(M, N, K, a, lda, b, ldb, c, ldc, alpha);
}

void gemm_f32_ab_acc_f16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                         const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  if (M > 0 && N > 0 && K > 0) HWY_DYNAMIC_DISPATCH(GemmAbAccF16)(M, N, K, a, lda, b, ldb, c, ldc);
}

void gemm_f32_abt_bf16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                       const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  if (M > 0 && N > 0) HWY_DYNAMIC_DISPATCH(GemmAbtBF16)(M, N, K, a, lda, b, ldb, c, ldc, alpha);
}

void gemm_f32_ab_acc_bf16(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                          const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  if (M > 0 && N > 0 && K > 0) HWY_DYNAMIC_DISPATCH(GemmAbAccBF16)(M, N, K, a, lda, b, ldb, c, ldc);
}

void narrow_f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(NarrowF16)(src, dst, n);
}

void prefetch_bytes(const void* p, int64_t bytes) {
  const char* x = static_cast<const char*>(p);
  for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(x + i, 0, 2);  // 2: into L2
  if (bytes > 0) __builtin_prefetch(x + bytes - 1, 0, 2);
}

void gemm_f32_abt_reference(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                            const float* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += double(a[m * lda + k]) * double(b[n * ldb + k]);
      c[m * ldc + n] = float(double(alpha) * s);
    }
}

void gemm_f32_ab_acc_reference(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                               const float* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = c[m * ldc + n];
      for (int64_t k = 0; k < K; ++k) s += double(a[m * lda + k]) * double(b[k * ldb + n]);
      c[m * ldc + n] = float(s);
    }
}

}  // namespace whale
#endif  // HWY_ONCE
