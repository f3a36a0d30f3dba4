// x86 (AVX2 and AVX-512 targets) integer kernels: whole 32-element blocks in one 256-bit
// register, multiplied with vpmaddubsw (u8 x s8 -> pairs of s16) + vpmaddwd (-> s32), the
// instruction pair of the published Q8_0 dot products. Signed weights use the sign trick:
// w . y = |w| . (y * sign(w)), so the unsigned operand is |w| <= 128 and a pair sum stays below
// 2 * 128 * 127 = 32512 (no saturation; activations are in [-127, 127]).
//
// Prefill: up to kTokens tokens share every unpacked weight block (register blocking), so the
// unpacking cost is paid once per kTokens tokens.
//
// Included by simd_kernels.cpp inside namespace whale::simd::HWY_NAMESPACE, once per x86 target
// with AVX2 (no include guard on purpose; the including file guards by target).

namespace x86 {

constexpr int kTokens = 8;

HWY_INLINE __m256i low_nibbles(__m256i v) {
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}
HWY_INLINE __m256i high_nibbles(__m256i v) {
  return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}
HWY_INLINE __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 8 int32 lanes; lane j sums the products of elements 4j .. 4j+3 (lanes 0-3: elements 0-15).
HWY_INLINE __m256i dot_unsigned(__m256i w_u8, __m256i y) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w_u8, y), _mm256_set1_epi16(1));
}
// w_abs = |w| (computed once per block for every token), w carries the signs.
HWY_INLINE __m256i dot_signed(__m256i w_abs, __m256i w, __m256i y) {
  return dot_unsigned(w_abs, _mm256_sign_epi8(y, w));
}

// f16 -> f32 with the F16C instruction (every AVX2 CPU has it; part of these targets).
HWY_INLINE float f16c(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

HWY_INLINE float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Activations to 8 bits per 32-block (QuantizeQ8's scheme): d = max|x| / 127, q = round(x / d)
// to nearest even (vcvtps2dq in the default rounding mode, as nearbyint), sum = d * sum(q).
HWY_INLINE void quantize_rows(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                              float* sum) {
  const int64_t nb = cols / 32;
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t i = 0; i < n_rows * nb; ++i) {
    const float* xb = x + i * 32;
    __m256 v[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(xb + 8 * k);
      m = _mm256_max_ps(m, _mm256_and_ps(v[k], abs_mask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float db = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 inv = _mm256_set1_ps(db > 0.0f ? 1.0f / db : 0.0f);
    __m256i qi[4];
    for (int k = 0; k < 4; ++k) qi[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], inv));
    // |q| <= 127: the saturating packs keep every value; they interleave 128-bit halves, which
    // the final dword permutation undoes.
    const __m256i q16 =
        _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(q + i * 32),
        _mm256_permutevar8x32_epi32(q16, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    const __m256i s =
        _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    d[i] = db;
    sum[i] = db * float(_mm_cvtsi128_si32(s4));
  }
}

// Formats: prepare(block) decodes the scales; load(s) gives sub-block s's 32 weights as bytes
// (signed when kSigned); scale16 formats give per-16 scales as scale[2 s], scale[2 s + 1].
struct Q8_0 {
  static constexpr int kElems = 32, kBytes = 34;
  static constexpr bool kSigned = true, kScale16 = false, kHasMin = false;
  const uint8_t* blk;
  float scale[1], min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    scale[0] = f16c(b);
  }
  HWY_INLINE __m256i load(int) const { return load256(blk + 2); }
};

struct Q4_0 {
  static constexpr int kElems = 32, kBytes = 18;
  static constexpr bool kSigned = true, kScale16 = false, kHasMin = false;
  const uint8_t* blk;
  float scale[1], min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    scale[0] = f16c(b);
  }
  HWY_INLINE __m256i load(int) const {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    const __m256i q = low_nibbles(_mm256_set_m128i(_mm_srli_epi16(v, 4), v));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
  }
};

// Byte i = 0xFF where bit i of `bits` is set: broadcast, route byte i / 8 of the mask to byte i,
// then compare against the single-bit selector 1 << (i % 8).
HWY_INLINE __m256i bits_to_bytes(uint32_t bits) {
  const __m256i route = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                          0x0101010101010101, 0x0000000000000000);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)), route);
  const __m256i select = _mm256_set1_epi64x(int64_t(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}

// Q5_0: Q4_0's nibble layout plus a fifth bit per element (bit i of the 32-bit qh).
struct Q5_0 {
  static constexpr int kElems = 32, kBytes = 22;
  static constexpr bool kSigned = true, kScale16 = false, kHasMin = false;
  const uint8_t* blk;
  float scale[1], min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    scale[0] = f16c(b);
  }
  HWY_INLINE __m256i load(int) const {
    uint32_t qh;
    std::memcpy(&qh, blk + 2, 4);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 6));
    const __m256i lo = low_nibbles(_mm256_set_m128i(_mm_srli_epi16(v, 4), v));
    const __m256i hi = _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10));
    return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(16));
  }
};

// Q4_1 / Q5_1: d, m (f16), [Q5_1: qh (32 bits)], 16 bytes of nibbles; w = d q + m with q the
// unsigned nibble (plus the fifth bit): the "minimum" term is -m, applied as Q4_K's are.
template <bool kFifth>
struct QAffine32 {
  static constexpr int kElems = 32, kBytes = kFifth ? 24 : 20;
  static constexpr bool kSigned = false, kScale16 = false, kHasMin = true;
  const uint8_t* blk;
  float scale[1], min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    scale[0] = f16c(b);
    min[0] = -f16c(b + 2);
  }
  HWY_INLINE __m256i load(int) const {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + (kFifth ? 8 : 4)));
    const __m256i q = low_nibbles(_mm256_set_m128i(_mm_srli_epi16(v, 4), v));
    if constexpr (!kFifth) return q;
    uint32_t qh;
    std::memcpy(&qh, blk + 4, 4);
    return _mm256_or_si256(q, _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
  }
};
using Q4_1 = QAffine32<false>;
using Q5_1 = QAffine32<true>;

struct Q4_K {
  static constexpr int kElems = 256, kBytes = 144;
  static constexpr bool kSigned = false, kScale16 = false, kHasMin = true;
  const uint8_t* qs;
  float scale[8], min[8];
  HWY_INLINE void prepare(const uint8_t* b) {
    const float d = f16c(b), dmin = f16c(b + 2);
    const uint8_t* sc = b + 4;
    for (int j = 0; j < 4; ++j) {
      scale[j] = d * float(sc[j] & 63);
      min[j] = dmin * float(sc[j + 4] & 63);
      scale[j + 4] = d * float((sc[j + 8] & 0x0F) | ((sc[j] >> 6) << 4));
      min[j + 4] = dmin * float((sc[j + 8] >> 4) | ((sc[j + 4] >> 6) << 4));
    }
    qs = b + 16;
  }
  HWY_INLINE __m256i load(int s) const {
    const __m256i v = load256(qs + 32 * (s / 2));
    return (s & 1) ? high_nibbles(v) : low_nibbles(v);
  }
};

// Q5_K: Q4_K's scales, qh[32] at 16 (element l of sub-block s: bit s of qh[l]), nibbles at 48.
struct Q5_K : Q4_K {
  static constexpr int kBytes = 176;
  const uint8_t* qh;
  HWY_INLINE void prepare(const uint8_t* b) {
    Q4_K::prepare(b);
    qh = b + 16;
    qs = b + 48;
  }
  HWY_INLINE __m256i load(int s) const {
    const __m256i fifth =
        _mm256_and_si256(_mm256_srl_epi16(load256(qh), _mm_cvtsi32_si128(s)), _mm256_set1_epi8(1));
    return _mm256_or_si256(Q4_K::load(s), _mm256_slli_epi16(fifth, 4));
  }
};

struct Q6_K {
  static constexpr int kElems = 256, kBytes = 210;
  static constexpr bool kSigned = true, kScale16 = true, kHasMin = false;
  const uint8_t* blk;
  float scale[16], min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    const float d = f16c(b + 208);
    for (int i = 0; i < 16; ++i) scale[i] = d * float(int8_t(b[192 + i]));
  }
  HWY_INLINE __m256i load(int s) const {
    const int n = s / 4, k = s % 4;
    const __m256i ql = load256(blk + 64 * n + 32 * (k & 1));
    const __m256i lo = k >= 2 ? high_nibbles(ql) : low_nibbles(ql);
    const __m256i qh = load256(blk + 128 + 32 * n);
    const __m256i hi = _mm256_slli_epi16(
        _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3)), 4);
    return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
  }
};

// Q2_K super-block: scales[16] (low nibble: scale, high: minimum, per 16 elements), qs[64]
// (2 bits), f16 d, f16 dmin. Sub-block s (half n = s / 4, j = s % 4), element e:
// (qs[32 n + e] >> 2j) & 3; w = d sc q - dmin m. Its minimums are per 16 elements (kMin16),
// so their activation sums are taken from the quantized activations as they are multiplied.
struct Q2_K {
  static constexpr int kElems = 256, kBytes = 84;
  static constexpr bool kSigned = false, kScale16 = true, kHasMin = false, kMin16 = true;
  const uint8_t* blk;
  float scale[16], min[16];
  // The 16 scales (kMin false) or minimums (true) times d or dmin: 0-7 in lo, 8-15 in hi.
  template <bool kMin>
  HWY_INLINE static void factors(const uint8_t* b, __m256* lo, __m256* hi) {
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    const __m128i v = _mm_and_si128(kMin ? _mm_srli_epi16(sc, 4) : sc, _mm_set1_epi8(0x0F));
    const __m256 d = _mm256_set1_ps(f16c(b + (kMin ? 82 : 80)));
    *lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)), d);
    *hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8))), d);
  }
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    __m256 lo, hi;
    factors<false>(b, &lo, &hi);
    _mm256_storeu_ps(scale, lo);
    _mm256_storeu_ps(scale + 8, hi);
    factors<true>(b, &lo, &hi);
    _mm256_storeu_ps(min, lo);
    _mm256_storeu_ps(min + 8, hi);
  }
  HWY_INLINE __m256i load(int s) const {
    return _mm256_and_si256(
        _mm256_srl_epi16(load256(blk + 16 + 32 * (s / 4)), _mm_cvtsi32_si128(2 * (s % 4))),
        _mm256_set1_epi8(3));
  }
};

// Q3_K super-block: hmask[32], qs[64] (2 bits), 12 bytes of 16 6-bit scales (+ 32), f16 d.
// Sub-block s (half n = s / 4, j = s % 4), element e: (qs[32 n + e] >> 2j) & 3, minus 4 unless
// bit s of hmask[e] is set; scale i: low 4 bits in byte i (i < 8) or the high nibble of byte
// i - 8, top 2 bits at 2 (i / 4) of byte 8 + i % 4.
struct Q3_K {
  static constexpr int kElems = 256, kBytes = 110;
  static constexpr bool kSigned = true, kScale16 = true, kHasMin = false;
  const uint8_t* blk;
  float scale[16], min[1];
  // The 16 scales times d: scales 0-7 in lo, 8-15 in hi.
  HWY_INLINE static void scales(const uint8_t* b, __m256* lo, __m256* hi) {
    // bytes 0-7: low nibbles of scales 0-7, high nibbles of 8-15; the top 2 bits of scale i
    // are bits 2 (i / 4) of byte 8 + i % 4: the 4 bytes repeated, dword k shifted by 2k.
    const __m128i l8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 96));
    const __m128i low =
        _mm_and_si128(_mm_unpacklo_epi64(l8, _mm_srli_epi16(l8, 4)), _mm_set1_epi8(0x0F));
    uint32_t h4;
    std::memcpy(&h4, b + 104, 4);
    const __m128i high = _mm_and_si128(
        _mm_srlv_epi32(_mm_set1_epi32(int(h4)), _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
    const __m128i sc = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
    const __m256 d = _mm256_set1_ps(f16c(b + 108));
    *lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)), d);
    *hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))), d);
  }
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    __m256 lo, hi;
    scales(b, &lo, &hi);
    _mm256_storeu_ps(scale, lo);
    _mm256_storeu_ps(scale + 8, hi);
  }
  HWY_INLINE __m256i load(int s) const {
    const int n = s / 4, j = s % 4;
    const __m256i lo =
        _mm256_and_si256(_mm256_srl_epi16(load256(blk + 32 + 32 * n), _mm_cvtsi32_si128(2 * j)),
                         _mm256_set1_epi8(3));
    const __m256i hi =
        _mm256_and_si256(_mm256_srl_epi16(load256(blk), _mm_cvtsi32_si128(s)), _mm256_set1_epi8(1));
    return _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 2)), _mm256_set1_epi8(4));
  }
};

// Adds super-block sb of the row times NT tokens into the accumulators: even sub-blocks into
// acc_even, odd ones into acc_odd (two independent FMA chains per token; the caller also swaps
// them between super-blocks, so one-block formats alternate too). Fully unrolled over tokens
// and sub-blocks so the accumulators live in registers.
template <class F, int NT>
HWY_INLINE void add_super_block(F& f, const uint8_t* blk, int64_t sb, const Q8Rows& x, int64_t t0,
                                __m256* acc_even, __m256* acc_odd, float* min_acc) {
  constexpr int kSubs = F::kElems / 32;
  const int64_t nb = x.blocks();
  f.prepare(blk);
#pragma GCC unroll 8
  for (int s = 0; s < kSubs; ++s) {
    const int64_t b = sb * kSubs + s;
    const __m256i w = f.load(s);
    const __m256i w_abs = F::kSigned ? _mm256_sign_epi8(w, w) : w;
    __m256* acc = (s & 1) ? acc_odd : acc_even;
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const int64_t tb = (t0 + t) * nb + b;
      const __m256i y = load256(x.q + tb * 32);
      const __m256i isum = F::kSigned ? dot_signed(w_abs, w, y) : dot_unsigned(w, y);
      const float xd = x.d[tb];
      __m256 sv;
      if constexpr (F::kScale16)
        sv =
            _mm256_set_m128(_mm_set1_ps(xd * f.scale[2 * s + 1]), _mm_set1_ps(xd * f.scale[2 * s]));
      else
        sv = _mm256_set1_ps(xd * f.scale[s]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), sv, acc[t]);
      if constexpr (F::kHasMin) min_acc[t] += x.sum[tb] * f.min[s];
      if constexpr (kMin16Of<F>) {
        const __m256 mv =
            _mm256_set_m128(_mm_set1_ps(xd * f.min[2 * s + 1]), _mm_set1_ps(xd * f.min[2 * s]));
        const __m256i ysum = dot_unsigned(_mm256_set1_epi8(1), y);
        acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ysum), mv, acc[t]);
      }
    }
  }
}

// out[t] = row . x[t0 + t] for NT tokens.
template <class F, int NT>
HWY_INLINE void dot_tokens(F& f, const uint8_t* row, int64_t n_super, const Q8Rows& x, int64_t t0,
                           float* out) {
  __m256 acc0[NT], acc1[NT];
  float min_acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    acc0[t] = _mm256_setzero_ps();
    acc1[t] = _mm256_setzero_ps();
    min_acc[t] = 0.0f;
  }
  int64_t sb = 0;
  if constexpr (NT == 1) {
    // One token: two alternating chains hide the FMA latency.
    for (; sb + 1 < n_super; sb += 2) {
      add_super_block<F, NT>(f, row + sb * F::kBytes, sb, x, t0, acc0, acc1, min_acc);
      add_super_block<F, NT>(f, row + (sb + 1) * F::kBytes, sb + 1, x, t0, acc1, acc0, min_acc);
    }
  }
  // Several tokens: their chains are independent already; one accumulator each.
  for (; sb < n_super; ++sb)
    add_super_block<F, NT>(f, row + sb * F::kBytes, sb, x, t0, acc0, acc0, min_acc);
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) out[t] = hsum(_mm256_add_ps(acc0[t], acc1[t])) - min_acc[t];
}

template <class F>
void matvec(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y, int64_t y_stride) {
  F f;
  const int64_t n_super = w.cols / F::kElems;
  constexpr int64_t kRowGroup = 8;
  float out[kTokens];
  for (int64_t r0 = w.row_begin; r0 < w.row_end; r0 += kRowGroup) {
    const int64_t r1 = std::min(w.row_end, r0 + kRowGroup);
    for (int64_t t0 = 0; t0 < n_tok; t0 += kTokens) {
      const int64_t nt = std::min<int64_t>(kTokens, n_tok - t0);
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + size_t(r) * w.row_stride;
        static_assert(kTokens == 8, "one case per token count below");
        switch (nt) {
          case 8:
            dot_tokens<F, 8>(f, row, n_super, x, t0, out);
            break;
          case 7:
            dot_tokens<F, 7>(f, row, n_super, x, t0, out);
            break;
          case 6:
            dot_tokens<F, 6>(f, row, n_super, x, t0, out);
            break;
          case 5:
            dot_tokens<F, 5>(f, row, n_super, x, t0, out);
            break;
          case 4:
            dot_tokens<F, 4>(f, row, n_super, x, t0, out);
            break;
          case 3:
            dot_tokens<F, 3>(f, row, n_super, x, t0, out);
            break;
          case 2:
            dot_tokens<F, 2>(f, row, n_super, x, t0, out);
            break;
          case 1:
            dot_tokens<F, 1>(f, row, n_super, x, t0, out);
            break;
          default:
            WHALE_CHECK(false, "token group size out of range");
        }
        for (int64_t t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = out[t];
      }
    }
  }
}

}  // namespace x86
