// AVX-512 VNNI integer kernels (Highway's AVX3_DL target: Ice Lake, Zen 4 and later).
//
// vpdpbusd multiplies unsigned bytes by signed bytes and adds groups of four products into int32
// lanes in one instruction (AVX2 needs vpmaddubsw + vpmaddwd and the sign trick). Weights are
// therefore unpacked to UNSIGNED bytes u = w + bias (Q8_0: w + 128, Q4_0: the nibble itself,
// bias 8; Q5_0: 16; Q6_K: 32; Q4_K: bias 0, its minimums are applied apart), and the bias is
// taken back out exactly in integers: sum u y = sum w y + bias sum y, so each dot product
// starts from -bias * sum y, a per-activation-block sum computed once per call.
//
// Layout ("group" = 4 blocks of 32 = 128 elements). Weights and activations are arranged so one
// 512-bit register holds the FIRST halves (elements 0-15) of 4 blocks and a second one the
// second halves; int32 lane 4k + j then sums elements 4j..4j+3 and 16+4j..16+4j+3 of block k,
// so one vector of 16 lanes covers 4 whole blocks with two vpdpbusd, and one convert + one FMA
// with per-lane scales (weight scale * activation scale of the lane's block) finishes them. Q4_0
// and Q4_K nibbles fall into this layout with one permute; Q6_K's 16-element scales need the two
// halves in separate accumulators (the "split" formats).
//
// Activations are packed once per call into that layout (PackedGroup, per token and group):
//   int8  ylo[64], yhi[64]     element halves of the group's 4 blocks (zero past the row's end)
//   int32 neg_sum[16]          -(sum of the 8 activation bytes feeding each lane)
//   int32 neg_sum_hi[16]       -(the yhi part only), for the split formats
//   f32   dx[16]               activation scale of each lane's block
// Weights are never copied: each group is unpacked in registers from the memory-mapped blocks.
// Overflow: |u| <= 255, |y| <= 127, 8 products per lane per group plus the bias term stay far
// below 2^31.
//
// Included by simd_kernels.cpp inside namespace whale::simd::HWY_NAMESPACE for HWY_AVX3_DL only.
// Highway's AVX3_DL attribute string names the VEX "avxvnni" but not "avx512vnni" (Zen 4 has
// only the latter), so these functions add it themselves.

namespace vnni {

#define WHALE_VNNI_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni")))
#define WHALE_VNNI_INLINE HWY_INLINE WHALE_VNNI_ATTR

constexpr int64_t kGroupElems = 128;
constexpr int64_t kGroupBytes = 320;  // one token's PackedGroup
constexpr int kYLo = 0, kYHi = 64, kNegSum = 128, kNegSumHi = 192, kDx = 256;

inline int64_t groups_of(int64_t cols) {
  return (cols / 32 + 3) / 4;
}

struct alignas(64) ByteIndex {
  uint8_t v[64];
};
struct alignas(64) WordIndex {
  uint16_t v[32];
};
struct alignas(64) DwordIndex {
  uint32_t v[16];
};
struct alignas(64) QwordIndex {
  uint64_t v[8];
};

WHALE_VNNI_INLINE __m512i load512(const void* p) {
  return _mm512_loadu_si512(p);
}
WHALE_VNNI_INLINE __m512i low4(__m512i v) {
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}
WHALE_VNNI_INLINE __m512i high4(__m512i v) {
  return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0F));
}
// 16 lanes: lane 4k + j = v[k] (per-block values spread over their block's 4 lanes).
WHALE_VNNI_INLINE __m512 spread4(__m128 v) {
  static constexpr DwordIndex kIdx = {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}};
  return _mm512_permutexvar_ps(_mm512_load_si512(kIdx.v), _mm512_zextps128_ps512(v));
}
// 16 f16 values (the low 256 bits of v) to f32.
WHALE_VNNI_INLINE __m512 f16x16(__m512i v) {
  return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(v, 0));
}

// One group of one weight row, unpacked: lo/hi as u8 in the layout above, sw the per-lane weight
// scale (sw_hi for the second halves of split formats), mins the 4 blocks' minimums (Q4_K).
struct Group {
  __m512i lo, hi;
  __m512 sw, sw_hi;
  __m128 mins;
};

// Formats: a "unit" is kGroups groups in kUnitBytes bytes; prepare() decodes what the unit's
// groups share (K-quant scales), group(h) unpacks group h. The 32-element formats (units of 4
// blocks) may end a row with a partial unit (kBlockBytes says how to copy it out); the K-quants
// are whole super-blocks of 256 = 2 groups. Everything stays in registers (no arrays of vectors:
// GCC keeps those on the stack).
struct PlainUnit {
  const uint8_t* p;
};
struct Q4_0 {
  static constexpr int kBlockBytes = 18, kUnitBytes = 72, kGroups = 1, kBiasShift = 3;
  static constexpr bool kSplit = false, kHasMin = false;
  static constexpr ByteIndex make_index() {
    ByteIndex r{};
    // quants of block k at 18k + 2; the last one lies past byte 63 of the first load, so it
    // comes from the second load (8 bytes further on).
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 16; ++j) r.v[16 * k + j] = uint8_t(k < 3 ? 18 * k + 2 + j : 64 + 48 + j);
    return r;
  }
  using Unit = PlainUnit;
  WHALE_VNNI_INLINE static void prepare(const uint8_t* p, Unit& u) { u.p = p; }
  WHALE_VNNI_INLINE static void group(const Unit& u, int, Group* g) {
    static constexpr ByteIndex kIdx = make_index();
    static constexpr WordIndex kScale = {{0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27}};
    const uint8_t* p = u.p;
    const __m512i z0 = load512(p), z1 = load512(p + 8);
    const __m512i w = _mm512_permutex2var_epi8(z0, _mm512_load_si512(kIdx.v), z1);
    g->lo = low4(w);
    g->hi = high4(w);
    g->sw = f16x16(_mm512_permutexvar_epi16(_mm512_load_si512(kScale.v), z0));
  }
};

// IQ4_NL: Q4_0's blocks; the nibbles index kIq4Values, taken as value + 128 (Q8_0's bias) by
// one byte shuffle.
WHALE_VNNI_INLINE __m512i iq4_biased_values() {
  const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(kIq4Values));
  return _mm512_xor_si512(_mm512_broadcast_i32x4(v), _mm512_set1_epi8(char(0x80)));
}
struct IQ4_NL : Q4_0 {
  static constexpr int kBiasShift = 7;
  WHALE_VNNI_INLINE static void group(const Unit& u, int h, Group* g) {
    Q4_0::group(u, h, g);
    g->lo = _mm512_shuffle_epi8(iq4_biased_values(), g->lo);
    g->hi = _mm512_shuffle_epi8(iq4_biased_values(), g->hi);
  }
};

// IQ4_XS super-block: f16 d, 6-bit sub-block scales (iq4_xs_scale), then IQ4_NL's nibbles per
// 32-element sub-block at 8 + 16 s: group h (sub-blocks 4h..4h+3) is 64 contiguous bytes in
// the order Q4_0's permute produces.
struct IQ4_XS {
  static constexpr int kBlockBytes = 136, kUnitBytes = 136, kGroups = 2, kBiasShift = 7;
  static constexpr bool kSplit = false, kHasMin = false;
  struct Unit {
    const uint8_t* p;
    __m256 scale;  // d * scale_s of the 8 sub-blocks
  };
  WHALE_VNNI_INLINE static void prepare(const uint8_t* p, Unit& u) {
    u.p = p;
    u.scale = x86::lanes::iq4_xs_scales(p);  // simd_x86_lanes-inl.h
  }
  WHALE_VNNI_INLINE static void group(const Unit& u, int h, Group* g) {
    static constexpr DwordIndex kSpread[2] = {{{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}},
                                              {{4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7}}};
    const __m512i z = load512(u.p + 8 + 64 * h);
    g->lo = _mm512_shuffle_epi8(iq4_biased_values(), low4(z));
    g->hi = _mm512_shuffle_epi8(iq4_biased_values(), high4(z));
    g->sw = _mm512_permutexvar_ps(_mm512_load_si512(kSpread[h].v), _mm512_zextps256_ps512(u.scale));
  }
};

struct Q8_0 {
  static constexpr int kBlockBytes = 34, kUnitBytes = 136, kGroups = 1, kBiasShift = 7;
  static constexpr bool kSplit = false, kHasMin = false;
  WHALE_VNNI_INLINE static __m512i two_blocks(const uint8_t* a, const uint8_t* b) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1);
  }
  using Unit = PlainUnit;
  WHALE_VNNI_INLINE static void prepare(const uint8_t* p, Unit& u) { u.p = p; }
  WHALE_VNNI_INLINE static void group(const Unit& u, int, Group* g) {
    const uint8_t* p = u.p;
    // scales at bytes 0, 34, 68, 102: words 0 and 17 of the first load, 2 and 19 of the second
    static constexpr WordIndex kScale = {
        {0, 0, 0, 0, 17, 17, 17, 17, 34, 34, 34, 34, 51, 51, 51, 51}};
    const __m512i b01 = two_blocks(p + 2, p + 36), b23 = two_blocks(p + 70, p + 104);
    const __m512i flip = _mm512_set1_epi8(char(0x80));  // w + 128 as an unsigned byte
    g->lo = _mm512_xor_si512(_mm512_shuffle_i64x2(b01, b23, _MM_SHUFFLE(2, 0, 2, 0)), flip);
    g->hi = _mm512_xor_si512(_mm512_shuffle_i64x2(b01, b23, _MM_SHUFFLE(3, 1, 3, 1)), flip);
    g->sw =
        f16x16(_mm512_permutex2var_epi16(load512(p), _mm512_load_si512(kScale.v), load512(p + 64)));
  }
};

struct Q5_0 {
  static constexpr int kBlockBytes = 22, kUnitBytes = 88, kGroups = 1, kBiasShift = 4;
  static constexpr bool kSplit = false, kHasMin = false;
  static constexpr ByteIndex make_index() {
    ByteIndex r{};
    // quants of block k at 22k + 6; blocks 2 and 3 from the second load (24 bytes further on)
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 16; ++j)
        r.v[16 * k + j] = uint8_t(k < 2 ? 22 * k + 6 + j : 64 + 22 * k + 6 + j - 24);
    return r;
  }
  using Unit = PlainUnit;
  WHALE_VNNI_INLINE static void prepare(const uint8_t* p, Unit& u) { u.p = p; }
  WHALE_VNNI_INLINE static void group(const Unit& u, int, Group* g) {
    const uint8_t* p = u.p;
    static constexpr ByteIndex kIdx = make_index();
    // scales at bytes 0, 22, 44 (first load) and 66 (byte 42 of the second load)
    static constexpr WordIndex kScale = {
        {0, 0, 0, 0, 11, 11, 11, 11, 22, 22, 22, 22, 53, 53, 53, 53}};
    const __m512i z0 = load512(p), z1 = load512(p + 24);
    const __m512i w = _mm512_permutex2var_epi8(z0, _mm512_load_si512(kIdx.v), z1);
    // The fifth bits: bit j of block k's 32-bit qh belongs to element j, so the low 16 bits
    // of each qh mark the first halves and the high 16 bits the second halves.
    uint64_t m_lo = 0, m_hi = 0;
    for (int k = 0; k < 4; ++k) {
      uint32_t qh;
      std::memcpy(&qh, p + 22 * k + 2, 4);
      m_lo |= uint64_t(qh & 0xFFFF) << (16 * k);
      m_hi |= uint64_t(qh >> 16) << (16 * k);
    }
    const __m512i sixteen = _mm512_set1_epi8(16);
    const __m512i lo = low4(w), hi = high4(w);
    g->lo = _mm512_mask_add_epi8(lo, m_lo, lo, sixteen);
    g->hi = _mm512_mask_add_epi8(hi, m_hi, hi, sixteen);
    g->sw = f16x16(_mm512_permutex2var_epi16(z0, _mm512_load_si512(kScale.v), z1));
  }
};

// Q4_K super-block: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles;
// sub-block s = low (even s) or high (odd s) nibbles of qs[32 (s / 2) ..].
struct Q4_K {
  static constexpr int kBlockBytes = 144, kUnitBytes = 144, kGroups = 2, kBiasShift = -1;
  static constexpr bool kSplit = false, kHasMin = true;
  struct Unit {
    const uint8_t* p;
    __m256 scale, min;  // d * scale_s and dmin * min_s of the 8 sub-blocks
  };
  WHALE_VNNI_INLINE static void prepare(const uint8_t* p, Unit& u) {
    uint64_t s, m;
    unpack_k4_scales(p + 4, &s, &m);
    const float d = _cvtsh_ss(uint16_t(p[0] | (p[1] << 8)));
    const float dmin = _cvtsh_ss(uint16_t(p[2] | (p[3] << 8)));
    u.p = p;
    u.scale = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(s)))),
                            _mm256_set1_ps(d));
    u.min = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(m)))),
                          _mm256_set1_ps(dmin));
  }
  WHALE_VNNI_INLINE static void group(const Unit& u, int h, Group* g) {
    const __m512i z = load512(u.p + 16 + 64 * h);
    arrange(u, h, low4(z), high4(z), g);
  }
  // Low-nibble values l = [s0a s0b s2a s2b] and high-nibble values hn = [s1a s1b s3a s3b] of
  // group h (16-byte lanes; a/b: first/second halves) into the layout, which wants
  // [s0a s1a s2a s3a] and [s0b s1b s2b s3b], with the group's scales and minimums.
  WHALE_VNNI_INLINE static void arrange(const Unit& u, int h, __m512i l, __m512i hn, Group* g) {
    static constexpr QwordIndex kLo = {{0, 1, 8, 9, 4, 5, 12, 13}};
    static constexpr QwordIndex kHi = {{2, 3, 10, 11, 6, 7, 14, 15}};
    static constexpr DwordIndex kSpread[2] = {{{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}},
                                              {{4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7}}};
    g->lo = _mm512_permutex2var_epi64(l, _mm512_load_si512(kLo.v), hn);
    g->hi = _mm512_permutex2var_epi64(l, _mm512_load_si512(kHi.v), hn);
    g->sw = _mm512_permutexvar_ps(_mm512_load_si512(kSpread[h].v), _mm512_zextps256_ps512(u.scale));
    g->mins = h == 0 ? _mm256_castps256_ps128(u.min) : _mm256_extractf128_ps(u.min, 1);
  }
};

// Q5_K super-block: Q4_K's d, dmin and scales, qh[32] at 16, the nibbles at 48; element l of
// sub-block s has its fifth bit in bit s of qh[l].
struct Q5_K : Q4_K {
  static constexpr int kBlockBytes = 176, kUnitBytes = 176;
  WHALE_VNNI_INLINE static void group(const Unit& u, int h, Group* g) {
    // l holds sub-blocks 4h (qwords 0-3) and 4h + 2 (4-7), hn 4h + 1 and 4h + 3: qh shifted by
    // the sub-block index per qword, bit 0 of each byte kept (shifts stay below 8).
    static constexpr QwordIndex kShiftL[2] = {{{0, 0, 0, 0, 2, 2, 2, 2}},
                                              {{4, 4, 4, 4, 6, 6, 6, 6}}};
    static constexpr QwordIndex kShiftH[2] = {{{1, 1, 1, 1, 3, 3, 3, 3}},
                                              {{5, 5, 5, 5, 7, 7, 7, 7}}};
    const __m512i z = load512(u.p + 48 + 64 * h);
    const __m512i qh =
        _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u.p + 16)));
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i fl =
        _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_load_si512(kShiftL[h].v)), one);
    const __m512i fh =
        _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_load_si512(kShiftH[h].v)), one);
    arrange(u, h, _mm512_or_si512(low4(z), _mm512_slli_epi16(fl, 4)),
            _mm512_or_si512(high4(z), _mm512_slli_epi16(fh, 4)), g);
  }
};

// Q6_K super-block: ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16] (per 16 elements),
// f16 d. Half h (128 elements, one group), sub-block k: low bits from ql[64 h + 32 (k & 1) + l]
// (high nibble for k >= 2), high bits (qh[32 h + l] >> 2k) & 3; value q - 32.
struct Q6_K {
  static constexpr int kBlockBytes = 210, kUnitBytes = 210, kGroups = 2, kBiasShift = 5;
  static constexpr bool kSplit = true, kHasMin = false;
  using Unit = PlainUnit;
  WHALE_VNNI_INLINE static void prepare(const uint8_t* p, Unit& u) { u.p = p; }
  WHALE_VNNI_INLINE static void group(const Unit& u, int h, Group* g) {
    const uint8_t* p = u.p;
    // low-nibble register [s0a s0b s1a s1b], high-nibble register [s2a s2b s3a s3b]
    static constexpr QwordIndex kLo = {{0, 1, 4, 5, 8, 9, 12, 13}};
    static constexpr QwordIndex kHi = {{2, 3, 6, 7, 10, 11, 14, 15}};
    static constexpr QwordIndex kShiftLo = {{0, 0, 0, 0, 2, 2, 2, 2}};
    static constexpr QwordIndex kShiftHi = {{4, 4, 4, 4, 6, 6, 6, 6}};
    static constexpr DwordIndex kScaleLo = {{0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6}};
    static constexpr DwordIndex kScaleHi = {{1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7}};
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(uint16_t(p[208] | (p[209] << 8))));
    const __m512i three = _mm512_set1_epi8(3);
    {
      const __m512i z = load512(p + 64 * h);
      const __m512i qh = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h)));
      const __m512i hl =
          _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_load_si512(kShiftLo.v)), three);
      const __m512i hh =
          _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_load_si512(kShiftHi.v)), three);
      const __m512i l = _mm512_or_si512(low4(z), _mm512_slli_epi16(hl, 4));
      const __m512i hn = _mm512_or_si512(high4(z), _mm512_slli_epi16(hh, 4));
      g->lo = _mm512_permutex2var_epi64(l, _mm512_load_si512(kLo.v), hn);
      g->hi = _mm512_permutex2var_epi64(l, _mm512_load_si512(kHi.v), hn);
      const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 192 + 8 * h));
      const __m512 s =
          _mm512_zextps256_ps512(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s8)), d));
      g->sw = _mm512_permutexvar_ps(_mm512_load_si512(kScaleLo.v), s);
      g->sw_hi = _mm512_permutexvar_ps(_mm512_load_si512(kScaleHi.v), s);
    }
  }
};

// Decode (one or two tokens): kDecodeRows rows at a time share each activation load and give
// the core independent accumulator chains (1 -> 4 rows: 17 -> 29 GB/s on cache-resident Q4_0
// weights, one Zen 4 thread). See matvec_decode for how the rows of a tile are chosen.
constexpr int kDecodeRows = 4;

// One group of R rows (unpacked in gr) times tokens t0 .. t0 + T - 1, added into acc[r * T + t].
// Each token's activations are loaded once for all R rows, each row's unpacked group is used
// by all T tokens.
template <class F, int R, int T>
WHALE_VNNI_INLINE void add_group(const Group* gr, int64_t g, const Q8Rows& x, int64_t t0,
                                 __m512* acc) {
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    const uint8_t* pg = x.packed + (t0 + t) * x.packed_stride + g * kGroupBytes;
    const __m512i ylo = load512(pg + kYLo), yhi = load512(pg + kYHi);
    const __m512 dx = _mm512_loadu_ps(pg + kDx);
    if constexpr (F::kSplit) {
      const __m512i ns = load512(pg + kNegSum), ns_hi = load512(pg + kNegSumHi);
      const __m512i init_lo = _mm512_slli_epi32(_mm512_sub_epi32(ns, ns_hi), F::kBiasShift);
      const __m512i init_hi = _mm512_slli_epi32(ns_hi, F::kBiasShift);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512i i_lo = _mm512_dpbusd_epi32(init_lo, gr[r].lo, ylo);
        const __m512i i_hi = _mm512_dpbusd_epi32(init_hi, gr[r].hi, yhi);
        __m512& a = acc[r * T + t];
        a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i_lo), _mm512_mul_ps(gr[r].sw, dx), a);
        a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i_hi), _mm512_mul_ps(gr[r].sw_hi, dx), a);
      }
    } else {
      __m512i init;
      if constexpr (F::kBiasShift >= 0)
        init = _mm512_slli_epi32(load512(pg + kNegSum), F::kBiasShift);
      else
        init = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512i i =
            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(init, gr[r].lo, ylo), gr[r].hi, yhi);
        __m512& a = acc[r * T + t];
        a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(gr[r].sw, dx), a);
      }
    }
  }
}

// Q4_K's minimum terms of unit u (8 sub-blocks): acc -= sum_s dmin m_s * (activation block sum
// d_x sum q, from Q8Rows::sum), folded into the lanes that are summed at the end anyway.
template <class F, int R, int T>
WHALE_VNNI_INLINE void add_min_terms(const typename F::Unit* unit, int64_t u, const Q8Rows& x,
                                     int64_t t0, __m512* acc) {
  if constexpr (F::kHasMin) {
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const __m512 xs =
          _mm512_zextps256_ps512(_mm256_loadu_ps(x.sum + (t0 + t) * x.blocks() + 8 * u));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
        acc[r * T + t] = _mm512_fnmadd_ps(_mm512_zextps256_ps512(unit[r].min), xs, acc[r * T + t]);
    }
  }
}

WHALE_VNNI_INLINE float hsum128(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}
WHALE_VNNI_INLINE float hsum512(__m512 v) {
  const __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  return hsum128(_mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
}

// out[r * T + t] = row r . x[t0 + t] for R rows (row r at row0 + r * stride) and T tokens: a
// register tile, each unit unpacked once for all T tokens and each token's activations loaded
// once for all R rows. Every (row, token) result takes the same operations in the same order
// whatever R and T are, so results do not depend on how rows are split across threads.
// pre: null, or the rows' units already prepared (row r's unit u at pre[r * pre_stride + u]).
template <class F, int R, int T>
WHALE_VNNI_ATTR void dot_tile(const uint8_t* row0, size_t stride, int64_t cols, const Q8Rows& x,
                              int64_t t0, float* out, const typename F::Unit* pre = nullptr,
                              int64_t pre_stride = 0) {
  __m512 acc[R * T];
  for (int i = 0; i < R * T; ++i) acc[i] = _mm512_setzero_ps();
  constexpr int64_t kUnitElems = kGroupElems * F::kGroups;
  const int64_t full_units = cols / kUnitElems;
  for (int64_t u = 0; u < full_units; ++u) {
    typename F::Unit unit[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if (pre)
        unit[r] = pre[r * pre_stride + u];
      else
        F::prepare(row0 + r * stride + u * F::kUnitBytes, unit[r]);
    }
    add_min_terms<F, R, T>(unit, u, x, t0, acc);
#pragma GCC unroll 2
    for (int h = 0; h < F::kGroups; ++h) {
      Group gr[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) F::group(unit[r], h, &gr[r]);
      add_group<F, R, T>(gr, u * F::kGroups + h, x, t0, acc);
    }
  }
  if (full_units * kUnitElems < cols) {
    // A row ending inside a unit (32-element formats only): copy its last blocks out so that
    // no load reads past the row; the zero blocks meet zero activations.
    const int64_t blocks = (cols - full_units * kUnitElems) / 32;
    alignas(64) uint8_t buf[R][F::kUnitBytes + 64] = {};
    typename F::Unit unit[R];
    Group gr[R];
    for (int r = 0; r < R; ++r) {
      std::memcpy(buf[r], row0 + r * stride + full_units * F::kUnitBytes,
                  size_t(blocks * F::kBlockBytes));
      F::prepare(buf[r], unit[r]);
      F::group(unit[r], 0, &gr[r]);
    }
    add_group<F, R, T>(gr, full_units * F::kGroups, x, t0, acc);
  }
  for (int i = 0; i < R * T; ++i) out[i] = hsum512(acc[i]);
}

// Rows [r0, r0 + R) times tokens [t0, t1) in tiles of up to kTileTokens, written to y.
// Tile shape: 4 rows x 3 tokens (12 accumulators + 4 unpacked groups + one token's activations
// fill the 32 registers; measured faster than 3x4, 4x2, 5x2, 6x2 and 2x4 on Zen 4).
constexpr int kTileTokens = 3, kTileRows = 4;
constexpr size_t kTileAhead = 8192;

template <class F, int R>
WHALE_VNNI_ATTR void row_tile(const RowRange& w, int64_t r0, const Q8Rows& x, int64_t t0,
                              int64_t t1, float* y, int64_t y_stride) {
  float out[R * kTileTokens];
  const uint8_t* row0 = w.data + size_t(r0) * w.row_stride;
  // Weights ahead of this tile into L2 while it computes (a tile's worth, kTileAhead bytes or
  // one tile further on, whichever is more): the hardware prefetchers do not follow R rows read
  // side by side, and without this small batches waited on DRAM. 1.5B, 2 threads, alternating
  // runs: 4 sequences batched 38.7 -> 57.7 tok/s (Q4_0) and 37.6 -> 49.9 (Q4_K_M), 16 sequences
  // 63-66 -> 75-77 (Q4_0); prefill unchanged (107-110). Prefetches never fault.
  const size_t tile_bytes = size_t(R) * w.row_stride;
  const uint8_t* ahead = row0 + std::max<size_t>(tile_bytes, kTileAhead);
  for (size_t o = 0; o < tile_bytes; o += 64)
    _mm_prefetch(reinterpret_cast<const char*>(ahead + o), _MM_HINT_T1);
  // Formats whose units need decoding (Q4_K's packed 6-bit scales and mins) decode them once
  // for all the token tiles instead of once per tile (1.5B Q4_K_M prefill, 256 tokens, 2
  // threads, alternating runs: 85-89 -> 92-94 tok/s).
  const typename F::Unit* pre = nullptr;
  int64_t n_units = 0;
  if constexpr (!std::is_same_v<typename F::Unit, PlainUnit>) {
    if (t1 - t0 > kTileTokens) {
      n_units = w.cols / (kGroupElems * F::kGroups);
      // Raw bytes, aligned by hand: std::vector of a type holding __m256 members did not get
      // 32-byte aligned storage here. Units are trivially copyable register images.
      using Unit = typename F::Unit;
      static_assert(std::is_trivially_copyable_v<Unit> &&
                    std::is_trivially_default_constructible_v<Unit> && alignof(Unit) <= 64);
      thread_local std::vector<uint8_t> storage;
      Unit* units =
          reinterpret_cast<Unit*>(grow_aligned(storage, size_t(R * n_units) * sizeof(Unit)));
      for (int r = 0; r < R; ++r)
        for (int64_t u = 0; u < n_units; ++u)
          F::prepare(row0 + r * w.row_stride + u * F::kUnitBytes, units[r * n_units + u]);
      pre = units;
    }
  }
  for (int64_t t = t0; t < t1; t += kTileTokens) {
    const int nt = int(std::min<int64_t>(kTileTokens, t1 - t));
    static_assert(kTileTokens <= 4, "one case per token count below");
    switch (nt) {
      case 4:
        if constexpr (kTileTokens >= 4)
          dot_tile<F, R, 4>(row0, w.row_stride, w.cols, x, t, out, pre, n_units);
        break;
      case 3:
        if constexpr (kTileTokens >= 3)
          dot_tile<F, R, 3>(row0, w.row_stride, w.cols, x, t, out, pre, n_units);
        break;
      case 2:
        dot_tile<F, R, 2>(row0, w.row_stride, w.cols, x, t, out, pre, n_units);
        break;
      default:
        dot_tile<F, R, 1>(row0, w.row_stride, w.cols, x, t, out, pre, n_units);
        break;
    }
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < nt; ++i) y[(t + i) * y_stride + r0 + r] = out[r * nt + i];
  }
}

// Tokens in blocks whose packed activations stay in L2 (~kTokenPanelBytes; a whole number of
// tiles) while the row tiles pass over them; rows in tiles of R, the last rows one at a time.
constexpr int64_t kTokenPanelBytes = 512 << 10;

template <class F, int R>
WHALE_VNNI_ATTR void matvec_rows(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y,
                                 int64_t y_stride) {
  const int64_t fit = kTokenPanelBytes / (groups_of(w.cols) * kGroupBytes);
  const int64_t panel = std::max<int64_t>(kTileTokens, fit / kTileTokens * kTileTokens);
  for (int64_t t0 = 0; t0 < n_tok; t0 += panel) {
    const int64_t t1 = std::min(n_tok, t0 + panel);
    int64_t r = w.row_begin;
    for (; r + R <= w.row_end; r += R) row_tile<F, R>(w, r, x, t0, t1, y, y_stride);
    for (; r < w.row_end; ++r) row_tile<F, 1>(w, r, x, t0, t1, y, y_stride);
  }
}

// Decode reads every weight once, from DRAM, so what matters is keeping enough lines in flight.
// The R rows of a tile are therefore taken from R separate quarters of the range (rows i,
// i + chunk, i + 2 chunk, ...): each row is then a sequential stream through its own pages,
// which the hardware prefetchers follow. Adjacent rows (one 3.4 KB run for 4 rows of 1536 Q4_0
// columns) interleave 4 streams inside each 4 KiB page, a pattern the prefetchers did not pick
// up (7 GB/s per thread without software prefetch; 19 GB/s with it, 16 KiB ahead). Measured
// on 24 Q4_0 matrices of 8960 x 1536 from DRAM, 2 threads: 30-33 GB/s adjacent + prefetch,
// 35-36.5 GB/s separate streams without prefetch; 1.5B Q4_0 decode 30.3 -> 36.1 tok/s. Each
// output takes the same operations as before, so results are unchanged.
template <class F, int R, int T>
WHALE_VNNI_ATTR void decode_rows(const RowRange& w, const Q8Rows& x, float* y, int64_t y_stride) {
  const int64_t chunk = (w.row_end - w.row_begin) / R;
  const size_t stride = size_t(chunk) * w.row_stride;
  float out[R * T];
  for (int64_t i = 0; i < chunk; ++i) {
    const int64_t r0 = w.row_begin + i;
    dot_tile<F, R, T>(w.data + size_t(r0) * w.row_stride, stride, w.cols, x, 0, out);
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) y[t * y_stride + r0 + r * chunk] = out[r * T + t];
  }
  for (int64_t r = w.row_begin + R * chunk; r < w.row_end; ++r) {
    dot_tile<F, 1, T>(w.data + size_t(r) * w.row_stride, w.row_stride, w.cols, x, 0, out);
    for (int t = 0; t < T; ++t) y[t * y_stride + r] = out[t];
  }
}

template <class F, int R>
WHALE_VNNI_ATTR void matvec_decode(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y,
                                   int64_t y_stride) {
  if (n_tok == 2)
    decode_rows<F, R, 2>(w, x, y, y_stride);
  else
    decode_rows<F, R, 1>(w, x, y, y_stride);
}

template <class F>
WHALE_VNNI_ATTR void matvec(const RowRange& w, const Q8Rows& x, int64_t n_tok, float* y,
                            int64_t y_stride) {
  // Decode and other few-token products read each weight once from DRAM (matvec_decode).
  if (n_tok < kTileTokens)
    matvec_decode<F, kDecodeRows>(w, x, n_tok, y, y_stride);
  else if (F::kSplit)
    matvec_rows<F, 2>(w, x, n_tok, y, y_stride);
  else
    matvec_rows<F, kTileRows>(w, x, n_tok, y, y_stride);
}

// Quantizes like QuantizeQ8 (same rounding, bit-identical q, d and sum) and writes the packed
// groups; packed holds n_rows * groups_of(cols) * kGroupBytes bytes, or is null (q, d, sum only).
WHALE_VNNI_ATTR void quantize_and_pack(const float* x, int64_t n_rows, int64_t cols, int8_t* q,
                                       float* d, float* sum, uint8_t* packed) {
  const int64_t nb = cols / 32, n_groups = groups_of(cols);
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t t = 0; t < n_rows; ++t) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + t * cols + b * 32;
      int8_t* qb = q + t * cols + b * 32;
      const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
      const __m512 m = _mm512_max_ps(_mm512_and_ps(v0, abs_mask), _mm512_and_ps(v1, abs_mask));
      const __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(m), _mm512_extractf32x8_ps(m, 1));
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
      const float amax = _mm_cvtss_f32(m4);
      const float db = amax / 127.0f;
      const float inv = db > 0.0f ? 1.0f / db : 0.0f;
      // cvtps rounds to nearest even (the default MXCSR mode), like nearbyint in QuantizeQ8
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(inv)));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(inv)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qb), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qb + 16), _mm512_cvtepi32_epi8(q1));
      const int isum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
      d[t * nb + b] = db;
      sum[t * nb + b] = db * float(isum);
    }
    if (packed == nullptr) continue;  // the lane layouts are packed from q, d, sum later
    const __m512i ones = _mm512_set1_epi8(1);
    for (int64_t g = 0; g < n_groups; ++g) {
      uint8_t* pg = packed + (t * n_groups + g) * kGroupBytes;
      alignas(64) int8_t ylo[64] = {}, yhi[64] = {};
      alignas(16) float dx[4] = {};
      for (int k = 0; k < 4; ++k) {
        const int64_t b = 4 * g + k;
        if (b >= nb) break;
        std::memcpy(ylo + 16 * k, q + t * cols + b * 32, 16);
        std::memcpy(yhi + 16 * k, q + t * cols + b * 32 + 16, 16);
        dx[k] = d[t * nb + b];
      }
      const __m512i vlo = _mm512_load_si512(ylo), vhi = _mm512_load_si512(yhi);
      const __m512i s_lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, vlo);
      const __m512i s_hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, vhi);
      _mm512_storeu_si512(pg + kYLo, vlo);
      _mm512_storeu_si512(pg + kYHi, vhi);
      _mm512_storeu_si512(pg + kNegSum,
                          _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_add_epi32(s_lo, s_hi)));
      _mm512_storeu_si512(pg + kNegSumHi, _mm512_sub_epi32(_mm512_setzero_si512(), s_hi));
      _mm512_storeu_ps(pg + kDx, spread4(_mm_load_ps(dx)));
    }
  }
}

}  // namespace vnni
