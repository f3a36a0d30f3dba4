// f32 products for attention (gemm_f32.h), compiled once per Highway target and dispatched at
// run time. Tiles keep their accumulators in named registers (not arrays of vectors, which
// sizeless SVE/RVV vectors do not allow):
//   abt:    4 rows x 4 keys, vectors along K: 8 loads feed 16 multiply-adds; each of the 16
//           sums is reduced once at the end of the tile.
//   ab_acc: 4 rows x 2 vectors of N: per k, two loads of b and four broadcasts of a feed 8
//           multiply-adds; c is loaded once and stored once per tile.
// Tails (rows, keys, columns, K not a multiple of the vector) take the narrower paths below.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm_f32.cpp"
#include "hwy/foreach_target.h"  // must precede highway.h
// clang-format off
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "kernels/lane_reductions-inl.h"
// clang-format on

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/gemm_f32.h"
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
HWY_INLINE float dot_tail(const float* a, const float* b, int64_t k0, int64_t K) {
  float s = 0.0f;
  for (int64_t k = k0; k < K; ++k) s += a[k] * b[k];
  return s;
}

// The first 4-row pass over a tile of keys also requests the keys kPrefetchKeys rows ahead, one
// cache line per row per step, when those are keys of this product (past the last key may be
// another layer's rows in a paged cache; the caller prefetches its next block itself). Decode
// attention streams the whole cache from memory at a few GB/s per core, and the hardware
// prefetchers did not keep 4 interleaved row streams ahead: ~10% on a 4096-row MLA cache.
constexpr int64_t kPrefetchKeys = 32;

// Rows a0..a3 times keys b0..b3 (both along K): c[i][j] for the 4 x 4 tile.
template <bool kPrefetch>
HWY_INLINE void abt_4x4(int64_t K, const float* a, int64_t lda, const float* b, int64_t ldb,
                        float* c, int64_t ldc, float alpha) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
  const float *b0 = b, *b1 = b + ldb, *b2 = b + 2 * ldb, *b3 = b + 3 * ldb;
  VF c00 = hn::Zero(d), c01 = hn::Zero(d), c02 = hn::Zero(d), c03 = hn::Zero(d);
  VF c10 = hn::Zero(d), c11 = hn::Zero(d), c12 = hn::Zero(d), c13 = hn::Zero(d);
  VF c20 = hn::Zero(d), c21 = hn::Zero(d), c22 = hn::Zero(d), c23 = hn::Zero(d);
  VF c30 = hn::Zero(d), c31 = hn::Zero(d), c32 = hn::Zero(d), c33 = hn::Zero(d);
  int64_t k = 0;
  for (; k + L <= K; k += L) {
    const VF v0 = hn::LoadU(d, b0 + k), v1 = hn::LoadU(d, b1 + k);
    const VF v2 = hn::LoadU(d, b2 + k), v3 = hn::LoadU(d, b3 + k);
    if constexpr (kPrefetch) {
      const float* ahead = b + kPrefetchKeys * ldb + k;
      for (int r = 0; r < 4; ++r) __builtin_prefetch(ahead + r * ldb, 0, 3);
    }
    VF u = hn::LoadU(d, a0 + k);
    c00 = hn::MulAdd(u, v0, c00), c01 = hn::MulAdd(u, v1, c01);
    c02 = hn::MulAdd(u, v2, c02), c03 = hn::MulAdd(u, v3, c03);
    u = hn::LoadU(d, a1 + k);
    c10 = hn::MulAdd(u, v0, c10), c11 = hn::MulAdd(u, v1, c11);
    c12 = hn::MulAdd(u, v2, c12), c13 = hn::MulAdd(u, v3, c13);
    u = hn::LoadU(d, a2 + k);
    c20 = hn::MulAdd(u, v0, c20), c21 = hn::MulAdd(u, v1, c21);
    c22 = hn::MulAdd(u, v2, c22), c23 = hn::MulAdd(u, v3, c23);
    u = hn::LoadU(d, a3 + k);
    c30 = hn::MulAdd(u, v0, c30), c31 = hn::MulAdd(u, v1, c31);
    c32 = hn::MulAdd(u, v2, c32), c33 = hn::MulAdd(u, v3, c33);
  }
  const float* ar[4] = {a0, a1, a2, a3};
  const float* br[4] = {b0, b1, b2, b3};
  const VF acc[4][4] = {
      {c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
  for (int i = 0; i < 4; ++i) {
    float sums[4];
    sums4(acc[i][0], acc[i][1], acc[i][2], acc[i][3], sums);
    for (int j = 0; j < 4; ++j) c[i * ldc + j] = alpha * (sums[j] + dot_tail(ar[i], br[j], k, K));
  }
}

// One row times one key, computed exactly like one element of abt_4x4 (one accumulator, the
// same reduction), so an element's value does not depend on whether it fell in a tile or in a
// row/key tail: splitting the keys into several products (cache pages) changes no bit.
HWY_INLINE float dot_1x1(int64_t K, const float* a, const float* b) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  VF s = hn::Zero(d);
  int64_t k = 0;
  for (; k + L <= K; k += L) s = hn::MulAdd(hn::LoadU(d, a + k), hn::LoadU(d, b + k), s);
  float sums[4];
  sums4(s, s, s, s, sums);
  return sums[0] + dot_tail(a, b, k, K);
}

void GemmAbt(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, float alpha) {
  const int64_t M4 = M / 4 * 4, N4 = N / 4 * 4;
  for (int64_t m = 0; m < M4; m += 4) {
    for (int64_t n = 0; n < N4; n += 4) {
      if (m == 0 && n + 4 + kPrefetchKeys <= N)
        abt_4x4<true>(K, a + m * lda, lda, b + n * ldb, ldb, c + m * ldc + n, ldc, alpha);
      else
        abt_4x4<false>(K, a + m * lda, lda, b + n * ldb, ldb, c + m * ldc + n, ldc, alpha);
    }
    for (int64_t i = m; i < m + 4; ++i)
      for (int64_t n = N4; n < N; ++n)
        c[i * ldc + n] = alpha * dot_1x1(K, a + i * lda, b + n * ldb);
  }
  for (int64_t i = M4; i < M; ++i)
    for (int64_t n = 0; n < N; ++n) c[i * ldc + n] = alpha * dot_1x1(K, a + i * lda, b + n * ldb);
}

// c rows c0..c3, columns [n, n + 2L) += a (4 rows) x b (K rows of the same columns).
HWY_INLINE void ab_4x2v(int64_t K, const float* a, int64_t lda, const float* b, int64_t ldb,
                        float* c, int64_t ldc) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  float *r0 = c, *r1 = c + ldc, *r2 = c + 2 * ldc, *r3 = c + 3 * ldc;
  VF c00 = hn::LoadU(d, r0), c01 = hn::LoadU(d, r0 + L);
  VF c10 = hn::LoadU(d, r1), c11 = hn::LoadU(d, r1 + L);
  VF c20 = hn::LoadU(d, r2), c21 = hn::LoadU(d, r2 + L);
  VF c30 = hn::LoadU(d, r3), c31 = hn::LoadU(d, r3 + L);
  for (int64_t k = 0; k < K; ++k) {
    const float* bk = b + k * ldb;
    const VF v0 = hn::LoadU(d, bk), v1 = hn::LoadU(d, bk + L);
    VF u = hn::Set(d, a[k]);
    c00 = hn::MulAdd(u, v0, c00), c01 = hn::MulAdd(u, v1, c01);
    u = hn::Set(d, a[lda + k]);
    c10 = hn::MulAdd(u, v0, c10), c11 = hn::MulAdd(u, v1, c11);
    u = hn::Set(d, a[2 * lda + k]);
    c20 = hn::MulAdd(u, v0, c20), c21 = hn::MulAdd(u, v1, c21);
    u = hn::Set(d, a[3 * lda + k]);
    c30 = hn::MulAdd(u, v0, c30), c31 = hn::MulAdd(u, v1, c31);
  }
  hn::StoreU(c00, d, r0), hn::StoreU(c01, d, r0 + L);
  hn::StoreU(c10, d, r1), hn::StoreU(c11, d, r1 + L);
  hn::StoreU(c20, d, r2), hn::StoreU(c21, d, r2 + L);
  hn::StoreU(c30, d, r3), hn::StoreU(c31, d, r3 + L);
}

// One row of c, columns [n, n + L) += a (one row) x b.
HWY_INLINE void ab_1x1v(int64_t K, const float* a, const float* b, int64_t ldb, float* c) {
  const DF d;
  VF acc = hn::LoadU(d, c);
  for (int64_t k = 0; k < K; ++k)
    acc = hn::MulAdd(hn::Set(d, a[k]), hn::LoadU(d, b + k * ldb), acc);
  hn::StoreU(acc, d, c);
}

void GemmAbAcc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc) {
  const DF d;
  const int64_t L = int64_t(hn::Lanes(d));
  const int64_t M4 = M / 4 * 4, N2 = N / (2 * L) * (2 * L), N1 = N / L * L;
  for (int64_t m = 0; m < M; m += (m < M4 ? 4 : 1)) {
    const bool four = m < M4;
    for (int64_t n = 0; n < N2; n += 2 * L) {
      if (four) {
        ab_4x2v(K, a + m * lda, lda, b + n, ldb, c + m * ldc + n, ldc);
      } else {
        ab_1x1v(K, a + m * lda, b + n, ldb, c + m * ldc + n);
        ab_1x1v(K, a + m * lda, b + n + L, ldb, c + m * ldc + n + L);
      }
    }
    const int64_t rows = four ? 4 : 1;
    for (int64_t i = m; i < m + rows; ++i) {
      for (int64_t n = N2; n < N1; n += L) ab_1x1v(K, a + i * lda, b + n, ldb, c + i * ldc + n);
      for (int64_t n = N1; n < N; ++n) {
        float s = c[i * ldc + n];
        for (int64_t k = 0; k < K; ++k) s += a[i * lda + k] * b[k * ldb + n];
        c[i * ldc + n] = s;
      }
    }
  }
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

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale {

HWY_EXPORT(GemmAbt);
HWY_EXPORT(GemmAbAcc);
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

void prefetch_f32(const float* x, int64_t n) {
  constexpr int64_t kLineFloats = 64 / sizeof(float);
  for (int64_t i = 0; i < n; i += kLineFloats) __builtin_prefetch(x + i, 0, 2);  // 2: into L2
  if (n > 0) __builtin_prefetch(x + n - 1, 0, 2);
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
