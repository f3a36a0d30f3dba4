// The weight formats of the portable integer kernels (simd_kernels.cpp's dot_row): block
// geometry, scales decoded once per block (prepare) and loaders of int16 weights.
//
// Included by simd_kernels.cpp inside namespace whale::simd::HWY_NAMESPACE, once per target
// (no include guard on purpose), after the D16 / D8 / DU8 / V16 tags.

inline float f16_at(const uint8_t* p) {
  return f16_to_f32(uint16_t(p[0] | (p[1] << 8)));
}

// Low or high nibbles of the bytes at p as int16 lanes.
template <bool kHigh>
HWY_INLINE V16 nibbles(const uint8_t* p) {
  const DU8 du8;
  auto b = hn::LoadU(du8, p);
  b = kHigh ? hn::ShiftRight<4>(b) : hn::And(b, hn::Set(du8, uint8_t(0x0F)));
  return hn::PromoteTo(D16(), hn::BitCast(D8(), b));
}

// Each weight format: block geometry, scales decoded once per block (prepare) and a loader of
// Lanes(D16) weights (as int16) starting at element e0 of 32-element sub-block s. e0 is a
// multiple of the lane count, so a load never straddles the two 16-element halves.
// The blocks that open with one f16 scale and have no minimum (Q8_0, Q4_0).
struct F16ScaledBlock {
  static constexpr int kElems = 32;
  static constexpr bool kScale16 = false, kHasMin = false;
  const uint8_t* blk;
  float scale[1];
  float min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    scale[0] = f16_at(b);
  }
};

struct Q8_0Format : F16ScaledBlock {
  static constexpr int kBytes = 34;
  HWY_INLINE V16 load(int, int e0) const {
    return hn::PromoteTo(D16(), hn::LoadU(D8(), reinterpret_cast<const int8_t*>(blk + 2 + e0)));
  }
};

// Q4_0: element j < 16 is the low nibble of qs[j], element j + 16 its high nibble; value - 8.
struct Q4_0Format : F16ScaledBlock {
  static constexpr int kBytes = 18;
  HWY_INLINE V16 load(int, int e0) const {
    const V16 v = e0 < 16 ? nibbles<false>(blk + 2 + e0) : nibbles<true>(blk + 2 + e0 - 16);
    return hn::Sub(v, hn::Set(D16(), int16_t(8)));
  }
};

// Q5_0: a fifth bit per element in a 32-bit mask; unpacked to bytes per block (the fallback
// type of K-quant mixes, so it is not on the hottest path).
struct Q5_0Format {
  static constexpr int kElems = 32, kBytes = 22;
  static constexpr bool kScale16 = false, kHasMin = false;
  HWY_ALIGN int8_t q[32];
  float scale[1];
  float min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    scale[0] = f16_at(b);
    uint32_t qh;
    std::memcpy(&qh, b + 2, 4);
    const uint8_t* qs = b + 6;
    for (int j = 0; j < 16; ++j) {
      q[j] = int8_t(((qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16);
      q[j + 16] = int8_t(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
    }
  }
  HWY_INLINE V16 load(int, int e0) const { return hn::PromoteTo(D16(), hn::LoadU(D8(), q + e0)); }
};

// Q4_1 / Q5_1: d, m (f16), [Q5_1: 32-bit qh], 16 bytes of nibbles (Q4_0's order); w = d q + m
// with q unsigned: the minimum term is -m (as Q4_K's). Unpacked to bytes per block.
template <bool kFifth>
struct QAffine32Format {
  static constexpr int kElems = 32, kBytes = kFifth ? 24 : 20;
  static constexpr bool kScale16 = false, kHasMin = true;
  HWY_ALIGN int8_t q[32];
  float scale[1];
  float min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    scale[0] = f16_at(b);
    min[0] = -f16_at(b + 2);
    uint32_t qh = 0;
    if (kFifth) std::memcpy(&qh, b + 4, 4);
    const uint8_t* qs = b + (kFifth ? 8 : 4);
    for (int j = 0; j < 16; ++j) {
      q[j] = int8_t((qs[j] & 0x0F) | (((qh >> j) & 1) << 4));
      q[j + 16] = int8_t((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
    }
  }
  HWY_INLINE V16 load(int, int e0) const { return hn::PromoteTo(D16(), hn::LoadU(D8(), q + e0)); }
};

// IQ4_NL (32): f16 d, 16 bytes of nibbles in Q4_0's order indexing kIq4Values. IQ4_XS (256):
// f16 d, 6-bit scales (iq4_xs_scale), then IQ4_NL's nibbles per 32-element sub-block s at
// 8 + 16 s. Both unpacked to bytes per block.
template <bool kXS>
struct IQ4Format {
  static constexpr int kElems = kXS ? 256 : 32, kBytes = kXS ? 136 : 18;
  static constexpr bool kScale16 = false, kHasMin = false;
  HWY_ALIGN int8_t q[kElems];
  float scale[kElems / 32];
  float min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    const float d = f16_at(b);
    for (int s = 0; s < kElems / 32; ++s) {
      scale[s] = kXS ? d * float(iq4_xs_scale(b, s)) : d;
      const uint8_t* qs = b + (kXS ? 8 + 16 * s : 2);
      for (int j = 0; j < 16; ++j) {
        q[32 * s + j] = kIq4Values[qs[j] & 0x0F];
        q[32 * s + j + 16] = kIq4Values[qs[j] >> 4];
      }
    }
  }
  HWY_INLINE V16 load(int s, int e0) const {
    return hn::PromoteTo(D16(), hn::LoadU(D8(), q + 32 * s + e0));
  }
};

// Q4_K super-block (256): f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins, 128 bytes of
// nibbles. Sub-block s (32 elements) = nibbles of qs[32 (s / 2) ..], low for even s;
// weight = d * scale_s * q - dmin * min_s.
struct Q4_KFormat {
  static constexpr int kElems = 256, kBytes = 144;
  static constexpr bool kScale16 = false, kHasMin = true;
  const uint8_t* qs;
  float scale[8];
  float min[8];
  HWY_INLINE void prepare(const uint8_t* b) {
    const float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t* sc = b + 4;
    for (int j = 0; j < 8; ++j) {
      int s, m;
      if (j < 4) {
        s = sc[j] & 63;
        m = sc[j + 4] & 63;
      } else {
        s = (sc[j + 4] & 0x0F) | ((sc[j - 4] >> 6) << 4);
        m = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
      }
      scale[j] = d * float(s);
      min[j] = dmin * float(m);
    }
    qs = b + 16;
  }
  HWY_INLINE V16 load(int s, int e0) const {
    const uint8_t* p = qs + 32 * (s / 2) + e0;
    return (s & 1) ? nibbles<true>(p) : nibbles<false>(p);
  }
};

// Q5_K super-block (256): Q4_K's d, dmin and scales, then qh[32], then the 128 bytes of nibbles
// (at 48); element l of sub-block s has its fifth bit in bit s of qh[l].
struct Q5_KFormat : Q4_KFormat {
  static constexpr int kBytes = 176;
  const uint8_t* qh;
  HWY_INLINE void prepare(const uint8_t* b) {
    Q4_KFormat::prepare(b);
    qh = b + 16;
    qs = b + 48;
  }
  HWY_INLINE V16 load(int s, int e0) const {
    const DU8 du8;
    const auto fifth = hn::ShiftLeft<4>(
        hn::And(hn::ShiftRightSame(hn::LoadU(du8, qh + e0), s), hn::Set(du8, uint8_t(1))));
    return hn::Add(Q4_KFormat::load(s, e0), hn::PromoteTo(D16(), hn::BitCast(D8(), fifth)));
  }
};

// Q2_K super-block (256): scales[16] (low nibble: scale, high: minimum, per 16 elements),
// qs[64] (2 bits), f16 d, f16 dmin; sub-block s (half n = s / 4, j = s % 4), element e:
// (qs[32 n + e] >> 2j) & 3. Minimums per 16 elements (kMin16). Unpacked to bytes per super-block.
struct Q2_KFormat {
  static constexpr int kElems = 256, kBytes = 84;
  static constexpr bool kScale16 = true, kHasMin = false, kMin16 = true;
  HWY_ALIGN int8_t q[256];
  float scale[16];
  float min[16];
  HWY_INLINE void prepare(const uint8_t* b) {
    const float d = f16_at(b + 80), dmin = f16_at(b + 82);
    for (int i = 0; i < 16; ++i) {
      scale[i] = d * float(b[i] & 0x0F);
      min[i] = dmin * float(b[i] >> 4);
    }
    for (int s = 0; s < 8; ++s)
      for (int e = 0; e < 32; ++e)
        q[32 * s + e] = int8_t((b[16 + 32 * (s / 4) + e] >> (2 * (s % 4))) & 3);
  }
  HWY_INLINE V16 load(int s, int e0) const {
    return hn::PromoteTo(D16(), hn::LoadU(D8(), q + 32 * s + e0));
  }
};

// Formats whose minimums are per 16 elements (Q2_K), here and in the x86 kernels.
template <class F>
constexpr bool kMin16Of = requires {
  F::kMin16;
};

// Q3_K super-block (256): hmask[32], qs[64] (2 bits), 12 bytes of 16 6-bit scales (+ 32), f16 d.
// Sub-block s (half n = s / 4, j = s % 4), element e: (qs[32 n + e] >> 2j) & 3, minus 4 unless
// bit s of hmask[e] is set. Unpacked to bytes per super-block.
struct Q3_KFormat {
  static constexpr int kElems = 256, kBytes = 110;
  static constexpr bool kScale16 = true, kHasMin = false;
  HWY_ALIGN int8_t q[256];
  float scale[16];
  float min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    const float d = f16_at(b + 108);
    const uint8_t* sc = b + 96;
    for (int i = 0; i < 16; ++i) {
      const int low = i < 8 ? (sc[i] & 0xF) : (sc[i - 8] >> 4);
      const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
      scale[i] = d * float((low | (high << 4)) - 32);
    }
    for (int s = 0; s < 8; ++s)
      for (int e = 0; e < 32; ++e)
        q[32 * s + e] =
            int8_t(((b[32 + 32 * (s / 4) + e] >> (2 * (s % 4))) & 3) - (((b[e] >> s) & 1) ? 0 : 4));
  }
  HWY_INLINE V16 load(int s, int e0) const {
    return hn::PromoteTo(D16(), hn::LoadU(D8(), q + 32 * s + e0));
  }
};

// Q6_K super-block (256): ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16] (one per 16
// elements), f16 d. In half n (128 elements), sub-block k (32): low bits from
// ql[64 n + 32 (k & 1) + l] (high nibble for k >= 2), high bits (qh[32 n + l] >> 2k) & 3;
// weight = d * scale[element / 16] * (q - 32).
struct Q6_KFormat {
  static constexpr int kElems = 256, kBytes = 210;
  static constexpr bool kScale16 = true, kHasMin = false;
  const uint8_t* blk;
  float scale[16];
  float min[1];
  HWY_INLINE void prepare(const uint8_t* b) {
    blk = b;
    const float d = f16_at(b + 208);
    for (int i = 0; i < 16; ++i) scale[i] = d * float(int8_t(b[192 + i]));
  }
  template <int kShift>
  HWY_INLINE static hn::Vec<DU8> high_bits(const uint8_t* qh) {
    const DU8 du8;
    return hn::ShiftLeft<4>(hn::And(hn::ShiftRight<kShift>(hn::LoadU(du8, qh)), hn::Set(du8, 3)));
  }
  HWY_INLINE V16 load(int s, int e0) const {
    const DU8 du8;
    const int n = s / 4, k = s % 4;
    const uint8_t* ql = blk + 64 * n + 32 * (k & 1) + e0;
    const uint8_t* qh = blk + 128 + 32 * n + e0;
    auto lo = hn::LoadU(du8, ql);
    lo = k >= 2 ? hn::ShiftRight<4>(lo) : hn::And(lo, hn::Set(du8, uint8_t(0x0F)));
    hn::Vec<DU8> hi;
    switch (k) {
      case 0:
        hi = high_bits<0>(qh);
        break;
      case 1:
        hi = high_bits<2>(qh);
        break;
      case 2:
        hi = high_bits<4>(qh);
        break;
      default:
        hi = high_bits<6>(qh);
        break;
    }
    const V16 v = hn::PromoteTo(D16(), hn::BitCast(D8(), hn::Or(lo, hi)));
    return hn::Sub(v, hn::Set(D16(), int16_t(32)));
  }
};
