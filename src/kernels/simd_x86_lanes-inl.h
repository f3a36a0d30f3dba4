// AVX2 products for many tokens (prefill, large batches): one int32 lane per scale block, the
// layout of simd_vnni_lanes-inl.h on 256-bit registers and without vpdpbusd.
//
// The few-token kernels (simd_x86-inl.h) spend about 8 instructions per 32 multiply-adds: an
// activation load, the sign trick, vpmaddubsw, vpmaddwd, a convert, a broadcast scale and an
// FMA, for every block of every (row, token). Here register m of a chunk holds elements
// 4m..4m+3 of 8 blocks (one block per int32 lane), so a whole chunk of 8 blocks is 8 vpmaddubsw
// whose 16-bit pair sums are added in 16 bits while they cannot overflow (4-bit weights: all 8),
// then one vpmaddwd, one convert and one FMA per 8 blocks: about 2.5 instructions per 32
// multiply-adds for the 4-bit formats. Q8_0's weights do not fit the unsigned 8-bit operand
// with room to spare, so it keeps the sign trick (|w| in registers, y * sign(w) per token) and
// widens every pair sum at once.
//
// Bounds: activations are in [-127, 127]; an unsigned weight u <= U gives pair sums of at most
// 2 * 127 * U in magnitude, so kSum16 = 32767 / (254 U) of them can be added in 16 bits
// (U = 15: 8, 31: 4, 63: 2; Q8_0's |w| <= 128: 1).
//
// Activations are rearranged once per call ("chunks" of 8 lanes):
//   int8  y[S][32]      S = 8 (32-element lanes) or 4 (16-element lanes, Q6_K); register m,
//                       lane k: elements 4m..4m+3 of the lane's block (zero past the row's end)
//   int32 neg_sum[8]    -(sum of the lane's activation bytes), for the weights' bias
//   f32   dx[8]         the lane's activation scale
//   f32   xsum[8]       the lane's d_x * sum q (the minimum terms of Q4_K, Q4_1, Q2_K, ...)
// Weights, per row and chunk, in per-thread scratch (a block of rows rearranged once per call
// and then multiplied with every token): u8 w[S][32] (biased unsigned as in simd_vnni-inl.h;
// Q8_0: |w| and then w itself), f32 scale[8], and f32 min[8] for the types with minimums.
//
// Every (row, token) result takes the same operations in the same order whatever the row block,
// the token panel or the thread split, so results do not depend on them.
//
// Included by simd_kernels.cpp inside namespace whale::simd::HWY_NAMESPACE::x86 for the AVX2
// and AVX3 targets (AVX3_DL has the VNNI lanes).

namespace lanes {

template <int S>
using Chunk = LaneChunk<8, S>;  // kernels/lane_chunk.h

inline int64_t chunks_of(int64_t cols, int lane_elems) {
  return lane_chunks(cols, lane_elems, 8);
}

HWY_INLINE __m256i lane_index() {
  return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
}

// All ones in the lanes of chunk c that hold elements of the row (its blocks are whole lanes).
HWY_INLINE __m256i valid_lanes(int64_t cols, int64_t c, int lane_elems) {
  const int64_t left = std::min<int64_t>(8, (cols - c * 8 * lane_elems) / lane_elems);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(left)), lane_index());
}

// The dwords at base + byte_offsets[k] for the valid lanes, zero elsewhere (nothing is read
// for an invalid lane, so a row's last chunk never reads past the row).
HWY_INLINE __m256i gather(__m256i valid, __m256i byte_offsets, const uint8_t* base) {
  return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(base),
                                     byte_offsets, valid, 1);
}

// Per lane k: the dword at base + idx[k] + off, shifted right by shifts[k], each byte & mask.
HWY_INLINE __m256i gather_bits(__m256i valid, __m256i idx, int off, const uint8_t* base,
                               __m256i shifts, uint8_t mask) {
  const __m256i v = gather(valid, _mm256_add_epi32(idx, _mm256_set1_epi32(off)), base);
  return _mm256_and_si256(_mm256_srlv_epi32(v, shifts), _mm256_set1_epi8(char(mask)));
}

// Byte offsets stride * k + add for the 8 lanes.
HWY_INLINE __m256i offsets(int stride, int add) {
  return _mm256_add_epi32(_mm256_mullo_epi32(lane_index(), _mm256_set1_epi32(stride)),
                          _mm256_set1_epi32(add));
}

// The f16 in the low half of each dword, as f32.
HWY_INLINE __m256 f16_lanes(__m256i v) {
  const __m256i words = _mm256_packus_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0xFFFF)), v);
  // packus interleaves 128-bit halves: qwords 0 and 2 hold lanes 0-3 and 4-7
  return _mm256_cvtph_ps(
      _mm256_castsi256_si128(_mm256_permute4x64_epi64(words, _MM_SHUFFLE(3, 1, 2, 0))));
}

HWY_INLINE __m256i low4_32(__m256i v) {
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}
HWY_INLINE __m256i high4_32(__m256i v) {
  return _mm256_and_si256(_mm256_srli_epi32(v, 4), _mm256_set1_epi8(0x0F));
}

// Lane sums of the bytes of y (signed) as int32.
HWY_INLINE __m256i byte_sums(__m256i y) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), y), _mm256_set1_epi16(1));
}

// Rearranges quantized activations (quantize_q8's q, d, sum) into chunks of S registers.
template <int S>
void pack(const int8_t* q, const float* d, const float* sum, int64_t n_rows, int64_t cols,
          uint8_t* out) {
  using C = Chunk<S>;
  const int64_t nb = cols / 32, n_chunks = chunks_of(cols, C::kLaneElems);
  for (int64_t t = 0; t < n_rows; ++t) {
    for (int64_t c = 0; c < n_chunks; ++c) {
      const __m256i valid = valid_lanes(cols, c, C::kLaneElems);
      const uint8_t* qc = reinterpret_cast<const uint8_t*>(q + t * cols + c * C::kElems);
      uint8_t* o = out + (t * n_chunks + c) * C::kBytes;
      __m256i isum = _mm256_setzero_si256();
      for (int m = 0; m < S; ++m) {
        const __m256i y = gather(valid, offsets(4 * S, 4 * m), qc);
        _mm256_store_si256(reinterpret_cast<__m256i*>(o + 32 * m), y);
        isum = _mm256_add_epi32(isum, byte_sums(y));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(o + C::kNegSum),
                         _mm256_sub_epi32(_mm256_setzero_si256(), isum));
      const int64_t b0 = t * nb + c * C::kElems / 32;
      if constexpr (S == 8) {
        _mm256_store_ps(reinterpret_cast<float*>(o + C::kDx), _mm256_maskload_ps(d + b0, valid));
        _mm256_store_ps(reinterpret_cast<float*>(o + C::kXSum),
                        _mm256_maskload_ps(sum + b0, valid));
      } else {
        // 16-element lanes: lane k takes block k / 2's scale
        const int64_t blocks = std::min<int64_t>(4, nb - c * 4);
        const __m256i first = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(blocks)), lane_index());
        const __m256 d4 = _mm256_maskload_ps(d + b0, first);
        const __m256 dx =
            _mm256_and_ps(_mm256_permutevar8x32_ps(d4, _mm256_srli_epi32(lane_index(), 1)),
                          _mm256_castsi256_ps(valid));
        _mm256_store_ps(reinterpret_cast<float*>(o + C::kDx), dx);
        _mm256_store_ps(reinterpret_cast<float*>(o + C::kXSum),
                        _mm256_mul_ps(_mm256_cvtepi32_ps(isum), dx));
      }
    }
  }
}

// Weight formats: S, the bias shift (u = w + (1 << shift); -1: none), kSum16 (see the top),
// whether the weights are signed (Q8_0: the sign trick), and repack(), which writes one chunk
// of one row in the scratch layout.
template <int kS, int kShift, int kSums16, bool kMin, bool kSign = false>
struct ScratchChunk {
  static_assert(kS % kSums16 == 0, "whole groups of 16-bit sums");
  static constexpr int S = kS, kBiasShift = kShift, kSum16 = kSums16;
  static constexpr bool kHasMin = kMin, kSigned = kSign;
  static constexpr int kScale = 32 * S * (kSign ? 2 : 1), kMinOff = kScale + 32;
  static constexpr int kBytes = kScale + 32 + (kMin ? 32 : 0);
};

HWY_INLINE void store(uint8_t* dst, __m256i v) {
  _mm256_store_si256(reinterpret_cast<__m256i*>(dst), v);
}
HWY_INLINE void store(uint8_t* dst, __m256 v) {
  _mm256_store_ps(reinterpret_cast<float*>(dst), v);
}

// Register m of signed weights w in the sign trick's layout: |w| (-128 -> 128 as an unsigned
// byte) as register m, w itself as register 8 + m.
HWY_INLINE void store_signed(uint8_t* dst, int m, __m256i w) {
  store(dst + 32 * m, _mm256_abs_epi8(w));
  store(dst + 32 * (8 + m), w);
}

struct LQ8_0 : ScratchChunk<8, -1, 1, false, true> {
  static constexpr int kBlockBytes = 34;
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + c * 8 * kBlockBytes;
    for (int m = 0; m < 8; ++m)
      store_signed(dst, m, gather(valid, offsets(kBlockBytes, 2 + 4 * m), base));
    store(dst + kScale, f16_lanes(gather(valid, offsets(kBlockBytes, 0), base)));
  }
};

// The f16 d of 8 blocks as their scales; with a minimum (Q4_1, Q5_1: w = d q + m, the f16 m
// right after d), -m as the minimums, which enter as Q4_K's do (f -= min * xsum).
template <class F>
HWY_INLINE void store_d_m(__m256i dm, uint8_t* dst) {
  store(dst + F::kScale, f16_lanes(dm));
  if constexpr (F::kHasMin)
    store(dst + F::kMinOff,
          _mm256_sub_ps(_mm256_setzero_ps(), f16_lanes(_mm256_srli_epi32(dm, 16))));
}

// Q4_0 (u = w + 8) and Q4_1 (kMin: u = q, the minimum after d).
template <bool kMin>
struct LQ4_01 : ScratchChunk<8, kMin ? -1 : 3, 8, kMin> {
  static constexpr int kBlockBytes = kMin ? 20 : 18, kQs = kMin ? 4 : 2;
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + c * 8 * kBlockBytes;
    for (int j = 0; j < 4; ++j) {  // low nibbles: elements 4j.., high: 16 + 4j..
      const __m256i v = gather(valid, offsets(kBlockBytes, kQs + 4 * j), base);
      store(dst + 32 * j, low4_32(v));
      store(dst + 32 * (j + 4), high4_32(v));
    }
    store_d_m<LQ4_01>(gather(valid, offsets(kBlockBytes, 0), base), dst);
  }
};
using LQ4_0 = LQ4_01<false>;
using LQ4_1 = LQ4_01<true>;

// Q5_0 (u = w + 16) and Q5_1 (kMin: u = q, the minimum after d); qh after d (and m), then qs.
template <bool kMin>
struct LQ5_01 : ScratchChunk<8, kMin ? -1 : 4, 4, kMin> {
  static constexpr int kBlockBytes = kMin ? 24 : 22, kQh = kMin ? 4 : 2, kQs = kQh + 4;
  // The 4 bits of qh for elements e..e+3 as bit 4 of 4 bytes.
  HWY_INLINE static __m256i fifth_bits(__m256i qh, int e) {
    const __m256i nib = _mm256_and_si256(_mm256_srli_epi32(qh, unsigned(e)), _mm256_set1_epi32(15));
    const __m256i spread = _mm256_mullo_epi32(nib, _mm256_set1_epi32(0x00204081));
    return _mm256_slli_epi32(_mm256_and_si256(spread, _mm256_set1_epi32(0x01010101)), 4);
  }
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + c * 8 * kBlockBytes;
    const __m256i qh = gather(valid, offsets(kBlockBytes, kQh), base);
    for (int j = 0; j < 4; ++j) {
      const __m256i v = gather(valid, offsets(kBlockBytes, kQs + 4 * j), base);
      store(dst + 32 * j, _mm256_or_si256(low4_32(v), fifth_bits(qh, 4 * j)));
      store(dst + 32 * (j + 4), _mm256_or_si256(high4_32(v), fifth_bits(qh, 16 + 4 * j)));
    }
    store_d_m<LQ5_01>(gather(valid, offsets(kBlockBytes, 0), base), dst);
  }
};
using LQ5_0 = LQ5_01<false>;
using LQ5_1 = LQ5_01<true>;

// d * iq4_xs_scale(p, s) of an IQ4_XS super-block's 8 sub-blocks: low nibble s of the 32-bit
// scales_l (bits 4s..), high bits 2s.. of scales_h.
HWY_INLINE __m256 iq4_xs_scales(const uint8_t* p) {
  uint32_t low;
  std::memcpy(&low, p + 4, 4);
  const __m256i s = lane_index();
  const __m256i lo =
      _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(int(low)), _mm256_slli_epi32(s, 2)),
                       _mm256_set1_epi32(15));
  const __m256i hi = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(p[2] | (p[3] << 8)), _mm256_add_epi32(s, s)),
      _mm256_set1_epi32(3));
  const __m256i ls =
      _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), _mm256_set1_epi32(32));
  return _mm256_mul_ps(_mm256_set1_ps(f16c(p)), _mm256_cvtepi32_ps(ls));
}

// IQ4_NL / IQ4_XS (kXS): nibbles in Q4_0's order index kIq4Values (a byte shuffle); the
// values fill the signed byte range, so they keep Q8_0's sign trick (|w|, then w). IQ4_NL: a
// chunk is 8 blocks (nibbles at byte 2); IQ4_XS: one super-block, lane k its sub-block k
// (nibbles at 8 + 16 k).
template <bool kXS>
struct LIQ4 : ScratchChunk<8, -1, 1, false, true> {
  static constexpr int kBlockBytes = kXS ? 136 : 18;
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + c * (kXS ? 1 : 8) * kBlockBytes;
    const __m256i values =
        _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kIq4Values)));
    for (int j = 0; j < 4; ++j) {  // low nibbles: elements 4j.., high: 16 + 4j..
      const __m256i v =
          gather(valid, kXS ? offsets(16, 8 + 4 * j) : offsets(kBlockBytes, 2 + 4 * j), base);
      store_signed(dst, j, _mm256_shuffle_epi8(values, low4_32(v)));
      store_signed(dst, j + 4, _mm256_shuffle_epi8(values, high4_32(v)));
    }
    if constexpr (kXS) {
      store(dst + kScale, iq4_xs_scales(base));
    } else {
      store(dst + kScale, f16_lanes(gather(valid, offsets(kBlockBytes, 0), base)));
    }
  }
};
using LIQ4_NL = LIQ4<false>;
using LIQ4_XS = LIQ4<true>;

// Q4_K / Q5_K: a chunk is one super-block; lane k is its sub-block k (nibbles of
// qs[32 (k / 2) ..], high nibbles for odd k; qs at byte 16, Q5_K: 48). Q5_K adds the fifth
// bits: bit k of qh[l] (qh at byte 16).
template <bool kFifth>
struct LQ4_5K : ScratchChunk<8, -1, kFifth ? 4 : 8, true> {
  using Base = ScratchChunk<8, -1, kFifth ? 4 : 8, true>;
  static constexpr int kBlockBytes = kFifth ? 176 : 144, kQs = kFifth ? 48 : 16;
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + c * kBlockBytes;
    const __m256i qs =
        _mm256_add_epi32(_mm256_setr_epi32(0, 0, 32, 32, 64, 64, 96, 96), _mm256_set1_epi32(kQs));
    const __m256i shift = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4);
    for (int m = 0; m < 8; ++m) {
      const __m256i v = gather(valid, _mm256_add_epi32(qs, _mm256_set1_epi32(4 * m)), base);
      __m256i w = low4_32(_mm256_srlv_epi32(v, shift));
      if constexpr (kFifth) {
        const __m256i fifth =
            gather_bits(valid, _mm256_set1_epi32(16), 4 * m, base, lane_index(), 0x01);
        w = _mm256_or_si256(w, _mm256_slli_epi32(fifth, 4));
      }
      store(dst + 32 * m, w);
    }
    Q4_K unit;  // the scales and minimums are laid out alike in both
    unit.prepare(base);
    store(dst + Base::kScale, _mm256_loadu_ps(unit.scale));
    store(dst + Base::kMinOff, _mm256_loadu_ps(unit.min));
  }
};
using LQ4_K = LQ4_5K<false>;
using LQ5_K = LQ4_5K<true>;

// Q6_K: a chunk is half n = c % 2 of super-block c / 2; lane k holds the 16 elements 16 k ..
// of the half (scale 8 n + k): 32-sub-block s = k / 2 at l = 16 (k & 1), low bits
// ql[64 n + 32 (s & 1) + l] (>> 4 for s >= 2), high bits (qh[32 n + l] >> 2s) & 3.
struct LQ6_K : ScratchChunk<4, 5, 2, false> {
  static constexpr int kBlockBytes = 210;
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + (c / 2) * kBlockBytes;
    const int n = int(c % 2);
    const __m256i ql = _mm256_add_epi32(_mm256_setr_epi32(0, 16, 32, 48, 0, 16, 32, 48),
                                        _mm256_set1_epi32(64 * n));
    const __m256i qh = _mm256_add_epi32(_mm256_setr_epi32(0, 16, 0, 16, 0, 16, 0, 16),
                                        _mm256_set1_epi32(128 + 32 * n));
    const __m256i shift_ql = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
    const __m256i shift_qh = _mm256_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6);
    for (int m = 0; m < 4; ++m) {
      const __m256i lo = gather_bits(valid, ql, 4 * m, base, shift_ql, 0x0F);
      const __m256i hi = gather_bits(valid, qh, 4 * m, base, shift_qh, 0x03);
      store(dst + 32 * m, _mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)));
    }
    const float d = f16c(base + 208);
    const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(base + 192 + 8 * n));
    store(dst + kScale,
          _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s8)), _mm256_set1_ps(d)));
  }
};

// Q2_K / Q3_K (kQ3): a chunk is half n = c % 2 of super-block c / 2; lane k holds the 16
// elements 16 k .. of the half (one scale, Q2_K also one minimum): shift j = k / 2, l = 16 (k & 1),
// low 2 bits (qs[32 n + l + i] >> 2j) & 3 (qs at byte 16, Q3_K: 32). Q2_K: u = those bits,
// w = d sc u - dmin m. Q3_K: u = low bits | ((hmask[l + i] >> (4n + j)) & 1) << 2, w = d sc (u -
// 4).
template <bool kQ3>
struct LQ2_3K : ScratchChunk<4, kQ3 ? 2 : -1, 4, !kQ3> {
  using Base = ScratchChunk<4, kQ3 ? 2 : -1, 4, !kQ3>;
  static constexpr int kBlockBytes = kQ3 ? 110 : 84, kQs = kQ3 ? 32 : 16;
  HWY_INLINE static void repack(const uint8_t* row, int64_t c, __m256i valid, uint8_t* dst) {
    const uint8_t* base = row + (c / 2) * kBlockBytes;
    const int n = int(c % 2);
    const __m256i l = _mm256_setr_epi32(0, 16, 0, 16, 0, 16, 0, 16);
    const __m256i qs = _mm256_add_epi32(l, _mm256_set1_epi32(kQs + 32 * n));
    const __m256i shift_qs = _mm256_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6);
    const __m256i shift_hm =
        _mm256_add_epi32(_mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), _mm256_set1_epi32(4 * n));
    for (int m = 0; m < 4; ++m) {
      __m256i u = gather_bits(valid, qs, 4 * m, base, shift_qs, 0x03);
      if constexpr (kQ3) {
        const __m256i h = gather_bits(valid, l, 4 * m, base, shift_hm, 0x01);
        u = _mm256_or_si256(u, _mm256_slli_epi32(h, 2));
      }
      store(dst + 32 * m, u);
    }
    __m256 lo, hi;  // the super-block's 16 scales (then minimums): half n's are lo or hi
    if constexpr (kQ3)
      Q3_K::scales(base, &lo, &hi);
    else
      Q2_K::factors<false>(base, &lo, &hi);
    store(dst + Base::kScale, n == 0 ? lo : hi);
    if constexpr (!kQ3) {
      Q2_K::factors<true>(base, &lo, &hi);
      store(dst + Base::kMinOff, n == 0 ? lo : hi);
    }
  }
};
using LQ2_K = LQ2_3K<false>;
using LQ3_K = LQ2_3K<true>;

// The integer lane sums of one chunk of one weight row (S unsigned registers in w) times one
// token's chunk yc, plus the bias term.
template <class F>
HWY_INLINE __m256i chunk_sums(const __m256i* w, const uint8_t* wc, const uint8_t* yc) {
  using C = Chunk<F::S>;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  if constexpr (F::kBiasShift >= 0)
    acc = _mm256_slli_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(yc + C::kNegSum)),
                            F::kBiasShift);
#pragma GCC unroll 8
  for (int m = 0; m < F::S; m += F::kSum16) {
    __m256i s16 = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = m; j < m + F::kSum16; ++j) {
      __m256i y = _mm256_load_si256(reinterpret_cast<const __m256i*>(yc + 32 * j));
      if constexpr (F::kSigned)
        y = _mm256_sign_epi8(
            y, _mm256_load_si256(reinterpret_cast<const __m256i*>(wc + 32 * (F::S + j))));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[j], y));
    }
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s16, ones));
  }
  return acc;
}

// facc[r * T + t] += the chunk-by-chunk products of R rows of scratch (row r at
// w0 + r * w_row_bytes) and T tokens of packed activations (token t at x0 + t * x_tok_bytes).
// Per chunk, a row's S weight registers stay in registers while the T tokens' chunks (in L1)
// pass over them.
template <class F>
HWY_INLINE void rows_times_tokens(const uint8_t* w0, int64_t w_row_bytes, int R, const uint8_t* x0,
                                  int64_t x_tok_bytes, int T, int64_t n_chunks, __m256* facc) {
  using C = Chunk<F::S>;
  for (int64_t c = 0; c < n_chunks; ++c) {
    for (int r = 0; r < R; ++r) {
      const uint8_t* wc = w0 + r * w_row_bytes + c * F::kBytes;
      __m256i w[F::S];
#pragma GCC unroll 8
      for (int m = 0; m < F::S; ++m)
        w[m] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wc + 32 * m));
      const __m256 sw = _mm256_load_ps(reinterpret_cast<const float*>(wc + F::kScale));
      for (int t = 0; t < T; ++t) {
        const uint8_t* yc = x0 + t * x_tok_bytes + c * C::kBytes;
        const __m256i isum = chunk_sums<F>(w, wc, yc);
        const __m256 dx = _mm256_load_ps(reinterpret_cast<const float*>(yc + C::kDx));
        __m256& a = facc[r * T + t];
        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(sw, dx), a);
        if constexpr (F::kHasMin)
          a = _mm256_fnmadd_ps(_mm256_load_ps(reinterpret_cast<const float*>(wc + F::kMinOff)),
                               _mm256_load_ps(reinterpret_cast<const float*>(yc + C::kXSum)), a);
      }
    }
  }
}

// Scratch for one block of rearranged weight rows per thread (L2-sized, as the VNNI lanes), and
// the tile of rows x tokens whose float accumulators stay in L1 while the chunks go by.
constexpr int64_t kRepackBytes = 256 << 10;
constexpr int kTileRows = 8, kTileTokens = 16;
constexpr int64_t kRepackAheadRows = 4;

template <class F>
void matmul(const RowRange& w, const uint8_t* x_lanes, int64_t n_tok, float* y, int64_t y_stride) {
  using C = Chunk<F::S>;
  const int64_t n_chunks = chunks_of(w.cols, C::kLaneElems);
  const int64_t w_row_bytes = n_chunks * F::kBytes, x_tok_bytes = n_chunks * C::kBytes;
  const int64_t block_rows =
      std::max<int64_t>(kTileRows, kRepackBytes / w_row_bytes / kTileRows * kTileRows);
  thread_local std::vector<uint8_t> storage;
  uint8_t* scratch = grow_aligned(storage, size_t(block_rows * w_row_bytes));
  alignas(32) __m256 facc[kTileRows * kTileTokens];
  for (int64_t r0 = w.row_begin; r0 < w.row_end; r0 += block_rows) {
    const int64_t rows = std::min(block_rows, w.row_end - r0);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = w.data + size_t(r0 + r) * w.row_stride;
      // Gathers are not followed by the hardware prefetchers: fetch a later row meanwhile.
      const uint8_t* ahead = row + kRepackAheadRows * w.row_stride;
      for (size_t o = 0; o < w.row_stride; o += 64)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + o), _MM_HINT_T0);
      for (int64_t c = 0; c < n_chunks; ++c)
        F::repack(row, c, valid_lanes(w.cols, c, C::kLaneElems),
                  scratch + r * w_row_bytes + c * F::kBytes);
    }
    for (int64_t t0 = 0; t0 < n_tok; t0 += kTileTokens) {
      const int T = int(std::min<int64_t>(kTileTokens, n_tok - t0));
      for (int64_t rt = 0; rt < rows; rt += kTileRows) {
        const int R = int(std::min<int64_t>(kTileRows, rows - rt));
        for (int i = 0; i < R * T; ++i) facc[i] = _mm256_setzero_ps();
        rows_times_tokens<F>(scratch + rt * w_row_bytes, w_row_bytes, R, x_lanes + t0 * x_tok_bytes,
                             x_tok_bytes, T, n_chunks, facc);
        for (int r = 0; r < R; ++r)
          for (int t = 0; t < T; ++t) y[(t0 + t) * y_stride + r0 + rt + r] = hsum(facc[r * T + t]);
      }
    }
  }
}

}  // namespace lanes
