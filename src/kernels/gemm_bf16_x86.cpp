// vdpbf16ps products (gemm_bf16_x86.h). One instruction multiplies 16 pairs of bf16 and adds
// both products of a pair into an f32 lane: twice the multiply-adds of an f32 FMA at the same
// issue rate on Zen 4, on half the bytes. The instruction adds the pair's high product first,
// then the low one, each rounded once (products of two bf16 are exact in f32). So:
//   abt:    rows x 4 keys per tile, 32 k per step; each lane sums k pairs, and each element is
//           reduced by the same lane tree (sums4) whether it fell in a full tile or a key tail.
//   ab_acc: rows x 64 columns per tile; two key rows are interleaved per step with the earlier
//           key in the high half (and a's pairs likewise), so every element of c is the chain
//           c + p0 v0 + p1 v1 + ... in key order, one rounding per key: the value of a plain
//           FMA loop (the instruction flushes subnormals to zero), whatever the tile or the
//           split of the keys into runs.
#include "kernels/gemm_bf16_x86.h"

#include "kernels/row_tiles.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include <algorithm>
#include <vector>

#define WHALE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define WHALE_BF16_INLINE WHALE_BF16_TARGET __attribute__((always_inline)) inline

namespace whale::x86_bf16 {

bool cpu_supported() {
  static const bool cpu = __builtin_cpu_supports("avx512bf16");
  return cpu;
}

namespace {

constexpr int kRowTile = 6;  // rows x 4 accumulators + 4 keys + 1 row: 29 of 32 zmm
// Keys requested ahead by the first row pass (see gemm_f32.cpp's kPrefetchKeys).
constexpr int64_t kPrefetchKeys = 32;

WHALE_BF16_INLINE __mmask32 first32(int64_t n) {
  return n >= 32 ? ~__mmask32(0) : n <= 0 ? __mmask32(0) : (__mmask32(1) << n) - 1;
}
WHALE_BF16_INLINE __mmask16 first16(int64_t n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

WHALE_BF16_INLINE __m512bh load_bf16(__mmask32 m, const uint16_t* p) {
  return (__m512bh)_mm512_maskz_loadu_epi16(m, p);
}

// 32 bf16 from p, or in the K tail (n < 32) the first n, zero-filled. Plain loads for whole
// vectors: masked ones in every step cost ~10% of the score product (176 -> 158 GFLOP/s).
WHALE_BF16_INLINE __m512bh load_k(const uint16_t* p, int64_t n) {
  return n >= 32 ? (__m512bh)_mm512_loadu_si512(p) : load_bf16(first32(n), p);
}

// The lane sums of x0..x3, each by the same tree of lane-wise adds (no lane of one input meets
// another input's), so a sum does not depend on its neighbours. (The zero-masking forms with
// every lane kept: GCC 12 warns about the unmasked ones' undefined-register idiom.)
WHALE_BF16_INLINE void sums4(__m512 x0, __m512 x1, __m512 x2, __m512 x3, float* out) {
  const __mmask16 all = 0xffff;
  const __m512 y01 = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(all, x0, x1, 0x44),
                                   _mm512_maskz_shuffle_f32x4(all, x0, x1, 0xEE));
  const __m512 y23 = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(all, x2, x3, 0x44),
                                   _mm512_maskz_shuffle_f32x4(all, x2, x3, 0xEE));
  __m512 z = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(all, y01, y23, 0x88),
                           _mm512_maskz_shuffle_f32x4(all, y01, y23, 0xDD));
  z = _mm512_add_ps(z, _mm512_maskz_permute_ps(all, z, 0x4E));
  z = _mm512_add_ps(z, _mm512_maskz_permute_ps(all, z, 0xB1));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, z);
  out[0] = lanes[0], out[1] = lanes[4], out[2] = lanes[8], out[3] = lanes[12];
}

// c[i][j] = alpha * a_i . b_j for MR rows of a (bf16, lda apart) and NR keys (ldb apart).
template <int MR, int NR, bool kPrefetch>
WHALE_BF16_INLINE void abt_tile(int64_t K, const uint16_t* a, int64_t lda, const uint16_t* b,
                                int64_t ldb, float* c, int64_t ldc, float alpha) {
  __m512 acc[MR][NR];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NR; ++i) acc[i / NR][i % NR] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 32) {
    __m512bh v[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) v[j] = load_k(b + j * ldb + k, K - k);
    if constexpr (kPrefetch) {
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j)
        _mm_prefetch(reinterpret_cast<const char*>(b + (j + kPrefetchKeys) * ldb + k), _MM_HINT_T0);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh u = load_k(a + i * lda + k, K - k);
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], u, v[j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float sums[4];
    sums4(acc[i][0], acc[i][std::min(1, NR - 1)], acc[i][std::min(2, NR - 1)],
          acc[i][std::min(3, NR - 1)], sums);
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = alpha * sums[j];
  }
}

template <int MR>
WHALE_BF16_INLINE void abt_rows(bool first_pass, int64_t N, int64_t K, const uint16_t* a,
                                int64_t lda, const uint16_t* b, int64_t ldb, float* c, int64_t ldc,
                                float alpha) {
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) {
    if (first_pass && n + 4 + kPrefetchKeys <= N)
      abt_tile<MR, 4, true>(K, a, lda, b + n * ldb, ldb, c + n, ldc, alpha);
    else
      abt_tile<MR, 4, false>(K, a, lda, b + n * ldb, ldb, c + n, ldc, alpha);
  }
  switch (N - n) {
    case 3:
      return abt_tile<MR, 3, false>(K, a, lda, b + n * ldb, ldb, c + n, ldc, alpha);
    case 2:
      return abt_tile<MR, 2, false>(K, a, lda, b + n * ldb, ldb, c + n, ldc, alpha);
    case 1:
      return abt_tile<MR, 1, false>(K, a, lda, b + n * ldb, ldb, c + n, ldc, alpha);
    default:
      return;
  }
}

// Grows a thread's scratch (never shrinks), 64-byte aligned through over-allocation.
template <class T>
T* scratch(std::vector<T>& v, size_t n) {
  const size_t extra = 64 / sizeof(T);
  if (v.size() < n + extra) v.resize(n + extra);
  const auto addr = reinterpret_cast<uintptr_t>(v.data());
  return v.data() + ((64 - addr % 64) % 64) / sizeof(T);
}

// Column permutations of ab_tile's accumulators. Interleaving two key rows of 32 columns
// (unpacklo/hi_epi16, per 128-bit lane) leaves columns {0-3, 8-11, 16-19, 24-27} in the "lo"
// accumulator and {4-7, 12-15, 20-23, 28-31} in the "hi" one; c is permuted into that order on
// load and back on store. Indices < 16 pick from the first operand, the rest from the second.
WHALE_BF16_INLINE __m512i lo_columns() {
  return _mm512_set_epi32(27, 26, 25, 24, 19, 18, 17, 16, 11, 10, 9, 8, 3, 2, 1, 0);
}
WHALE_BF16_INLINE __m512i hi_columns() {
  return _mm512_set_epi32(31, 30, 29, 28, 23, 22, 21, 20, 15, 14, 13, 12, 7, 6, 5, 4);
}
// Columns 0-15 and 16-31 from (lo, hi).
WHALE_BF16_INLINE __m512i first_half_back() {
  return _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
}
WHALE_BF16_INLINE __m512i second_half_back() {
  return _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
}

// c rows [0, MR), columns [0, n_cols) (n_cols <= 32 * NG) += p x b over K keys. p holds each
// row's key pairs as 32-bit words, the earlier key's bf16 in the high half (ldp words apart).
template <int MR, int NG>
WHALE_BF16_INLINE void ab_tile(int64_t K, const uint32_t* p, int64_t ldp, const uint16_t* b,
                               int64_t ldb, float* c, int64_t ldc, int64_t n_cols) {
  __mmask32 key_mask[NG];
  __mmask16 c_mask[NG][2];
  __m512 acc[MR][NG][2];
#pragma GCC unroll 2
  for (int g = 0; g < NG; ++g) {
    key_mask[g] = first32(n_cols - 32 * g);
    c_mask[g][0] = first16(n_cols - 32 * g);
    c_mask[g][1] = first16(n_cols - 32 * g - 16);
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int g = 0; g < NG; ++g) {
      const __m512 x0 = _mm512_maskz_loadu_ps(c_mask[g][0], c + i * ldc + 32 * g);
      const __m512 x1 = _mm512_maskz_loadu_ps(c_mask[g][1], c + i * ldc + 32 * g + 16);
      acc[i][g][0] = _mm512_permutex2var_ps(x0, lo_columns(), x1);
      acc[i][g][1] = _mm512_permutex2var_ps(x0, hi_columns(), x1);
    }
  }
  for (int64_t k = 0; k < K; k += 2) {
    const uint16_t* early = b + k * ldb;
    __m512bh lo[NG], hi[NG];
#pragma GCC unroll 2
    for (int g = 0; g < NG; ++g) {
      const __m512i e = _mm512_maskz_loadu_epi16(key_mask[g], early + 32 * g);
      const __m512i l = k + 1 < K ? _mm512_maskz_loadu_epi16(key_mask[g], early + ldb + 32 * g)
                                  : _mm512_setzero_si512();
      lo[g] = (__m512bh)_mm512_unpacklo_epi16(l, e);
      hi[g] = (__m512bh)_mm512_unpackhi_epi16(l, e);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh w = (__m512bh)_mm512_set1_epi32(int(p[i * ldp + k / 2]));
#pragma GCC unroll 2
      for (int g = 0; g < NG; ++g) {
        acc[i][g][0] = _mm512_dpbf16_ps(acc[i][g][0], lo[g], w);
        acc[i][g][1] = _mm512_dpbf16_ps(acc[i][g][1], hi[g], w);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int g = 0; g < NG; ++g) {
      float* row = c + i * ldc + 32 * g;
      _mm512_mask_storeu_ps(row, c_mask[g][0],
                            _mm512_permutex2var_ps(acc[i][g][0], first_half_back(), acc[i][g][1]));
      _mm512_mask_storeu_ps(row + 16, c_mask[g][1],
                            _mm512_permutex2var_ps(acc[i][g][0], second_half_back(), acc[i][g][1]));
    }
  }
}

// dst[t] = bf16(src[2t]) << 16 | bf16(src[2t + 1]) for t < ceil(K / 2), a missing src[K] as 0.
WHALE_BF16_INLINE void key_pairs(const float* src, int64_t K, uint32_t* dst) {
  for (int64_t k = 0; k < K; k += 32) {
    const __m512 lo = _mm512_maskz_loadu_ps(first16(K - k), src + k);
    const __m512 hi = _mm512_maskz_loadu_ps(first16(K - k - 16), src + k + 16);
    // cvtne2ps leaves src[2t] in the low half of word t; the rotation puts it high.
    _mm512_storeu_si512(
        dst + k / 2,
        _mm512_maskz_rol_epi32(__mmask16(0xffff), (__m512i)_mm512_cvtne2ps_pbh(hi, lo), 16));
  }
}

}  // namespace

WHALE_BF16_TARGET void abt(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda,
                           const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  for (int64_t m = 0; m < M;) {
    const int64_t mr = std::min<int64_t>(kRowTile, M - m);
    with_row_count<kRowTile>(mr, [&]<int MR>() WHALE_BF16_TARGET {
      abt_rows<MR>(m == 0, N, K, a + m * lda, lda, b, ldb, c + m * ldc, ldc, alpha);
    });
    m += mr;
  }
}

WHALE_BF16_TARGET void round_to_bf16(const float* src, int64_t n, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
    _mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
  if (i < n) {
    const __m512 lo = _mm512_maskz_loadu_ps(first16(n - i), src + i);
    const __m512 hi = _mm512_maskz_loadu_ps(first16(n - i - 16), src + i + 16);
    _mm512_mask_storeu_epi16(dst + i, first32(n - i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

WHALE_BF16_TARGET void ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                              const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  if (K <= 0) return;
  thread_local std::vector<uint32_t> pairs_storage;
  const int64_t pairs_pad = (K + 31) / 32 * 16;
  uint32_t* pairs = scratch(pairs_storage, size_t(kRowTile * pairs_pad));
  for (int64_t m = 0; m < M;) {
    const int64_t mr = std::min<int64_t>(kRowTile, M - m);
    for (int64_t i = 0; i < mr; ++i) key_pairs(a + (m + i) * lda, K, pairs + i * pairs_pad);
    with_row_count<kRowTile>(mr, [&]<int MR>() WHALE_BF16_TARGET {
      float* cm = c + m * ldc;
      int64_t n = 0;
      for (; n + 64 <= N; n += 64) ab_tile<MR, 2>(K, pairs, pairs_pad, b + n, ldb, cm + n, ldc, 64);
      for (; n < N; n += 32)
        ab_tile<MR, 1>(K, pairs, pairs_pad, b + n, ldb, cm + n, ldc, std::min<int64_t>(32, N - n));
    });
    m += mr;
  }
}

}  // namespace whale::x86_bf16

#else  // not x86-64: the portable path of gemm_bf16.cpp serves every call

namespace whale::x86_bf16 {
bool cpu_supported() {
  return false;
}
void abt(int64_t, int64_t, int64_t, const uint16_t*, int64_t, const uint16_t*, int64_t, float*,
         int64_t, float) {}
void round_to_bf16(const float*, int64_t, uint16_t*) {}
void ab_acc(int64_t, int64_t, int64_t, const float*, int64_t, const uint16_t*, int64_t, float*,
            int64_t) {}
}  // namespace whale::x86_bf16

#endif
