// AVX2 decode (one token) for Q4_0, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K: 4 weight rows at a time
// share every activation load, and the scale work is vectorized over 8 blocks.
//
// simd_x86-inl.h's per-row kernel spends ~15 instructions per 32 weights of Q4_0 (unpack,
// re-centre, the sign trick, a scalar scale product and its broadcast) and ~17 for Q4_K (its
// 6-bit scales decoded one by one). Here the weights stay unsigned (Q4_0, Q4_K: the nibble;
// Q6_K: the 6-bit value, <= 63, so vpmaddubsw's pair sums stay below 2 * 63 * 127), the bias is
// taken out once per 8 blocks in floats (Q4_0: 8 d_w sum(d_x q)) or once per sub-block in
// integers shared by the 4 rows (Q6_K: 32 sum q), and a block's scale is one lane permute of a
// vector of 8 scale products: ~9-12 instructions per 32 weights.
//
// The 4 rows come from 4 quarters of the range, as in simd_vnni-inl.h's decode_rows: each row
// is a sequential stream the hardware prefetchers follow. Every row takes the same operations
// in the same order whatever the others are, so results do not depend on the thread split.
//
// Included by simd_kernels.cpp inside namespace whale::simd::HWY_NAMESPACE::x86 for the AVX2
// and AVX3 targets, after simd_x86-inl.h and simd_x86_lanes-inl.h.

namespace decode {

constexpr int kRows = 4;

HWY_INLINE __m256 lane_of(__m256 v, int k) {
  return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(k));
}

// One block's 32 weights as unsigned bytes in element order from 16 bytes of nibbles (low
// nibbles: elements 0-15, high: 16-31).
HWY_INLINE __m256i nibbles_in_order(const uint8_t* p) {
  const __m256i x =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_and_si256(_mm256_blend_epi32(x, _mm256_srli_epi16(x, 4), 0xF0),
                          _mm256_set1_epi8(0x0F));
}

// Sums of 4 products w_u8 * y per int32 lane. The AVX-512 VNNI target (which runs these
// kernels for the types without VNNI tiles) does it in one instruction; vpmaddubsw's pair
// sums never saturate here (|w| <= 128, |y| <= 127), so both give the same sums.
HWY_INLINE __m256i isum(__m256i w_u8, __m256i y) {
#if HWY_TARGET == HWY_AVX3_DL
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w_u8, y);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w_u8, y), _mm256_set1_epi16(1));
#endif
}

// The 32-element formats: d (f16) and the block's weights. Groups of 8 blocks share one
// vector of scale products; the row's last blocks go one at a time.
//   Q4_0: 16 bytes of nibbles (low: elements 0-15, high: 16-31), w = nibble - 8: unsigned
//   weights, bias 8 taken out in floats (8 d_w sum(d_x q)). Two blocks per register pair:
//   [a 0-15 | b 0-15] and [a 16-31 | b 16-31] come out of one 2 x 16-byte load, and the
//   activations are rearranged alike once for all the rows.
//   Q8_0: 32 signed bytes, the sign trick (|w| . y sign(w)); one block per register.
template <class F>
struct Blocks32 {
  // The f16 scales of 8 consecutive blocks as f32: word loads into one register (a gather was
  // slower: 1.5B Q4_0 decode 24-26 tok/s with vpgatherdd, AVX2 on Zen 4).
  HWY_INLINE static __m256 scales8(const uint8_t* p) {
    return _mm256_cvtph_ps(words(p, std::make_integer_sequence<int, 8>()));
  }
  // (word inserts with constant indices, as unoptimized builds need: _mm_setr_epi16 of the 8
  // words measured ~3% slower, 1.5B Q4_0 one thread)
  template <int... K>
  HWY_INLINE static __m128i words(const uint8_t* p, std::integer_sequence<int, K...>) {
    constexpr int kB = F::kBlockBytes;
    __m128i h = _mm_setzero_si128();
    ((h = _mm_insert_epi16(h, p[kB * K] | (p[kB * K + 1] << 8), K)), ...);
    return h;
  }
  template <int R>
  HWY_INLINE static void rows(const uint8_t* row0, size_t stride, int64_t cols, const Q8Rows& x,
                              float* out) {
    constexpr int kB = F::kBlockBytes;
    const int64_t nb = cols / 32;
    __m256 dot[R], bias[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) dot[r] = bias[r] = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
      const __m256 dx = _mm256_loadu_ps(x.d + b);
      __m256 sv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256 dw = scales8(row0 + r * stride + b * kB);
        if constexpr (F::kBias != 0)
          bias[r] = _mm256_fmadd_ps(dw, _mm256_loadu_ps(x.sum + b), bias[r]);
        sv[r] = _mm256_mul_ps(dw, dx);
      }
#pragma GCC unroll 4
      for (int k = 0; k < 8; k += 2) {
        __m256i y0, y1;
        F::activations(load256(x.q + (b + k) * 32), load256(x.q + (b + k + 1) * 32), &y0, &y1);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
          F::add_pair(row0 + r * stride + (b + k) * kB, y0, y1, sv[r], k, &dot[r]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      float tail = 0.0f;
      for (int64_t t = b; t < nb; ++t) {
        const uint8_t* p = row0 + r * stride + t * kB;
        const float dw = f16c(p);
        tail += dw * x.d[t] * hsum(_mm256_cvtepi32_ps(F::block(p, load256(x.q + t * 32)))) -
                float(F::kBias) * dw * x.sum[t];
      }
      out[r] = hsum(dot[r]) - float(F::kBias) * hsum(bias[r]) + tail;
    }
  }
};

struct Q4_0 : Blocks32<Q4_0> {
  static constexpr int kBlockBytes = 18, kBias = 8;
  HWY_INLINE static void activations(__m256i ya, __m256i yb, __m256i* y0, __m256i* y1) {
    *y0 = _mm256_permute2x128_si256(ya, yb, 0x20);
    *y1 = _mm256_permute2x128_si256(ya, yb, 0x31);
  }
  // blocks k (at p) and k + 1: lanes 0-3 block k, lanes 4-7 block k + 1
  HWY_INLINE static void add_pair(const uint8_t* p, __m256i y0, __m256i y1, __m256 sv, int k,
                                  __m256* dot) {
    const __m256i q = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(p + 20),
                                          reinterpret_cast<const __m128i*>(p + 2));
    const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(low_nibbles(q), y0),
                                         _mm256_maddubs_epi16(high_nibbles(q), y1));
    const __m256i pair = _mm256_setr_epi32(k, k, k, k, k + 1, k + 1, k + 1, k + 1);
    *dot = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s16, _mm256_set1_epi16(1))),
                           _mm256_permutevar8x32_ps(sv, pair), *dot);
  }
  HWY_INLINE static __m256i block(const uint8_t* p, __m256i y) {
    return isum(nibbles_in_order(p + 2), y);
  }
};

struct Q8_0 : Blocks32<Q8_0> {
  static constexpr int kBlockBytes = 34, kBias = 0;
  HWY_INLINE static void activations(__m256i ya, __m256i yb, __m256i* y0, __m256i* y1) {
    *y0 = ya;
    *y1 = yb;
  }
  HWY_INLINE static __m256i block(const uint8_t* p, __m256i y) {
    const __m256i w = load256(p + 2);
    return isum(_mm256_abs_epi8(w), _mm256_sign_epi8(y, w));
  }
  HWY_INLINE static void add_pair(const uint8_t* p, __m256i y0, __m256i y1, __m256 sv, int k,
                                  __m256* dot) {
    *dot = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block(p, y0)), lane_of(sv, k), *dot);
    *dot =
        _mm256_fmadd_ps(_mm256_cvtepi32_ps(block(p + kBlockBytes, y1)), lane_of(sv, k + 1), *dot);
  }
};

// Q4_K super-block: d, dmin (f16), 12 bytes of 6-bit scales and mins, 128 bytes of nibbles;
// sub-block s: low (even s) or high (odd s) nibbles of qs[32 (s / 2) ..]; w = d sc_s q - dmin m_s.
struct Q4_K {
  static constexpr int kBlockBytes = 144;
  // d * sc_s and dmin * m_s for the 8 sub-blocks.
  HWY_INLINE static void scales(const uint8_t* p, __m256* sc, __m256* mn) {
    uint64_t s, m;
    unpack_k4_scales(p + 4, &s, &m);
    *sc = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(s)))),
                        _mm256_set1_ps(f16c(p)));
    *mn = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(m)))),
                        _mm256_set1_ps(f16c(p + 2)));
  }
  template <int R>
  HWY_INLINE static void rows(const uint8_t* row0, size_t stride, int64_t cols, const Q8Rows& x,
                              float* out) {
    k_rows<R, false>(row0, stride, cols, x, out);
  }
  // Q4_K (kFifth false) and Q5_K (qh[32] at 16: bit s of qh[l] is the fifth bit of element l
  // of sub-block s; nibbles at 48).
  template <int R, bool kFifth>
  HWY_INLINE static void k_rows(const uint8_t* row0, size_t stride, int64_t cols, const Q8Rows& x,
                                float* out) {
    constexpr int kBytes = kFifth ? 176 : kBlockBytes, kQs = kFifth ? 48 : 16;
    const int64_t n_super = cols / 256;
    __m256 dot[R], mins[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) dot[r] = mins[r] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < n_super; ++sb) {
      const __m256 dx = _mm256_loadu_ps(x.d + 8 * sb), xs = _mm256_loadu_ps(x.sum + 8 * sb);
      __m256 sv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        __m256 sc, mn;
        scales(row0 + r * stride + sb * kBytes, &sc, &mn);
        mins[r] = _mm256_fmadd_ps(mn, xs, mins[r]);
        sv[r] = _mm256_mul_ps(sc, dx);
      }
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m256i y0 = load256(x.q + sb * 256 + 64 * j);
        const __m256i y1 = load256(x.q + sb * 256 + 64 * j + 32);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const uint8_t* p = row0 + r * stride + sb * kBytes;
          const __m256i q = load256(p + kQs + 32 * j);
          __m256i w0 = low_nibbles(q), w1 = high_nibbles(q);
          if constexpr (kFifth) {
            const __m256i qh = load256(p + 16), one = _mm256_set1_epi8(1);
            const __m256i f0 =
                _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j)), one);
            const __m256i f1 =
                _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j + 1)), one);
            w0 = _mm256_or_si256(w0, _mm256_slli_epi16(f0, 4));
            w1 = _mm256_or_si256(w1, _mm256_slli_epi16(f1, 4));
          }
          dot[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum(w0, y0)), lane_of(sv[r], 2 * j), dot[r]);
          dot[r] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum(w1, y1)), lane_of(sv[r], 2 * j + 1), dot[r]);
        }
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = hsum(dot[r]) - hsum(mins[r]);
  }
};

struct Q5_K {
  template <int R>
  HWY_INLINE static void rows(const uint8_t* row0, size_t stride, int64_t cols, const Q8Rows& x,
                              float* out) {
    Q4_K::k_rows<R, true>(row0, stride, cols, x, out);
  }
};

// The formats with 16-element scales: F gives the 16 scales (factors), the unsigned weights of
// sub-block s (half n = s / 4, j = s % 4) and the bias shift (u = q + (1 << shift); -1: none),
// taken out in integers per lane (bias * sum y, shared by the rows); Q2_K also has minimums
// per 16 elements: per super-block, the 16 activation sums (shared by the rows) times each
// row's 16 minimums, two FMAs per row instead of a permute and an FMA per 32 weights.
template <class F>
struct Scale16 {
  template <int R>
  HWY_INLINE static void rows(const uint8_t* row0, size_t stride, int64_t cols, const Q8Rows& x,
                              float* out) {
    const int64_t n_super = cols / 256;
    // scale pair (2s, 2s + 1) of sub-block s: lanes 0-3 and 4-7
    const __m256i pair_lo = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    __m256 dot[R], min_terms[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) dot[r] = min_terms[r] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < n_super; ++sb) {
      // each 16-element factor times its block's activation scale: [2s] and [2s + 1] take d_x[s]
      const __m256 dx = _mm256_loadu_ps(x.d + 8 * sb);
      const __m256 dx_lo = _mm256_permutevar8x32_ps(dx, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
      const __m256 dx_hi = _mm256_permutevar8x32_ps(dx, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7));
      __m256 sv[R][2], mv[R][2];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = row0 + r * stride + sb * F::kBlockBytes;
        __m256 lo, hi;
        F::scales(p, &lo, &hi);
        sv[r][0] = _mm256_mul_ps(lo, dx_lo);
        sv[r][1] = _mm256_mul_ps(hi, dx_hi);
        if constexpr (F::kMin16) {
          F::mins(p, &lo, &hi);
          mv[r][0] = _mm256_mul_ps(lo, dx_lo);
          mv[r][1] = _mm256_mul_ps(hi, dx_hi);
        }
      }
      __m256i ysum[8];  // per lane: the sum of 4 activations
#pragma GCC unroll 8
      for (int s = 0; s < 8; ++s) {
        const int n = s / 4;
        const __m256i y = load256(x.q + sb * 256 + 32 * s);
        ysum[s] = isum(_mm256_set1_epi8(1), y);
        const __m256i idx = _mm256_add_epi32(pair_lo, _mm256_set1_epi32(2 * (s % 4)));
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const uint8_t* p = row0 + r * stride + sb * F::kBlockBytes;
          __m256i is = isum(F::weights(p, s), y);
          if constexpr (F::kBiasShift >= 0)
            is = _mm256_sub_epi32(is, _mm256_slli_epi32(ysum[s], F::kBiasShift));
          dot[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_permutevar8x32_ps(sv[r][n], idx),
                                   dot[r]);
        }
      }
      if constexpr (F::kMin16) {
        __m256 lo, hi;  // the activation sums of the 16-element sub-blocks 0-7 and 8-15
        sub_block_sums(ysum, &lo, &hi);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
          min_terms[r] = _mm256_fmadd_ps(mv[r][1], hi, _mm256_fmadd_ps(mv[r][0], lo, min_terms[r]));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = hsum(dot[r]) - hsum(min_terms[r]);
  }
  // ysum[s] lanes 0-3 add up to sub-block 2s, lanes 4-7 to 2s + 1.
  HWY_INLINE static void sub_block_sums(const __m256i* ysum, __m256* lo, __m256* hi) {
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int h = 0; h < 2; ++h) {
      const __m256i* q = ysum + 4 * h;
      // [2s (s = 4h..4h+3) | 2s + 1 (same s)] after two horizontal adds
      const __m256i v =
          _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
      (h == 0 ? *lo : *hi) = _mm256_cvtepi32_ps(_mm256_permutevar8x32_epi32(v, order));
    }
  }
};

// Q6_K super-block: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], d (f16);
// sub-block s, k = s % 4: low bits ql[64 n + 32 (k & 1) ..] (high nibbles for k >= 2), high
// bits (qh[32 n ..] >> 2k) & 3; w = d sc (q - 32).
struct Q6_K : Scale16<Q6_K> {
  static constexpr int kBlockBytes = 210, kBiasShift = 5;
  static constexpr bool kMin16 = false;
  HWY_INLINE static void scales(const uint8_t* p, __m256* lo, __m256* hi) {
    const __m256 d = _mm256_set1_ps(f16c(p + 208));
    const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192));
    *lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s8)), d);
    *hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(s8, 8))), d);
  }
  HWY_INLINE static void mins(const uint8_t*, __m256*, __m256*) {}
  HWY_INLINE static __m256i weights(const uint8_t* p, int s) {
    const int n = s / 4, k = s % 4;
    const __m256i ql = load256(p + 64 * n + 32 * (k & 1));
    const __m256i lo = k >= 2 ? high_nibbles(ql) : low_nibbles(ql);
    const __m256i qh = load256(p + 128 + 32 * n);
    return _mm256_or_si256(
        lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)),
                                               _mm256_set1_epi8(3)),
                              4));
  }
};

// Q3_K (x86::Q3_K): u = low 2 bits | hmask bit << 2, w = d sc (u - 4).
struct Q3_K : Scale16<Q3_K> {
  static constexpr int kBlockBytes = 110, kBiasShift = 2;
  static constexpr bool kMin16 = false;
  HWY_INLINE static void scales(const uint8_t* p, __m256* lo, __m256* hi) {
    x86::Q3_K::scales(p, lo, hi);
  }
  HWY_INLINE static void mins(const uint8_t*, __m256*, __m256*) {}
  HWY_INLINE static __m256i weights(const uint8_t* p, int s) {
    const __m256i lo = _mm256_and_si256(
        _mm256_srl_epi16(load256(p + 32 + 32 * (s / 4)), _mm_cvtsi32_si128(2 * (s % 4))),
        _mm256_set1_epi8(3));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    // AVX-512: the bit as a mask and a masked add, two instructions instead of four
    const __mmask32 high = _mm256_test_epi8_mask(load256(p), _mm256_set1_epi8(char(1 << s)));
    return _mm256_mask_add_epi8(lo, high, lo, _mm256_set1_epi8(4));
#else
    const __m256i hb =
        _mm256_and_si256(_mm256_srl_epi16(load256(p), _mm_cvtsi32_si128(s)), _mm256_set1_epi8(1));
    return _mm256_or_si256(lo, _mm256_slli_epi16(hb, 2));
#endif
  }
};

// Q2_K (x86::Q2_K): u = 2 bits, w = d sc u - dmin m with scale and minimum per 16 elements.
struct Q2_K : Scale16<Q2_K> {
  static constexpr int kBlockBytes = 84, kBiasShift = -1;
  static constexpr bool kMin16 = true;
  HWY_INLINE static void scales(const uint8_t* p, __m256* lo, __m256* hi) {
    x86::Q2_K::factors<false>(p, lo, hi);
  }
  HWY_INLINE static void mins(const uint8_t* p, __m256* lo, __m256* hi) {
    x86::Q2_K::factors<true>(p, lo, hi);
  }
  HWY_INLINE static __m256i weights(const uint8_t* p, int s) {
    return _mm256_and_si256(
        _mm256_srl_epi16(load256(p + 16 + 32 * (s / 4)), _mm_cvtsi32_si128(2 * (s % 4))),
        _mm256_set1_epi8(3));
  }
};

// y[r] = W[r] . x[0] for the range's rows: kRows rows from kRows quarters, the rest one by one.
template <class F>
void matvec(const RowRange& w, const Q8Rows& x, float* y) {
  const int64_t chunk = (w.row_end - w.row_begin) / kRows;
  const size_t stride = size_t(chunk) * w.row_stride;
  float out[kRows];
  for (int64_t i = 0; i < chunk; ++i) {
    const int64_t r0 = w.row_begin + i;
    F::template rows<kRows>(w.data + size_t(r0) * w.row_stride, stride, w.cols, x, out);
    for (int r = 0; r < kRows; ++r) y[r0 + r * chunk] = out[r];
  }
  for (int64_t r = w.row_begin + kRows * chunk; r < w.row_end; ++r) {
    F::template rows<1>(w.data + size_t(r) * w.row_stride, w.row_stride, w.cols, x, out);
    y[r] = out[0];
  }
}

}  // namespace decode
