// AVX-512 VNNI products for many tokens (prefill, large batches): one int32 lane per scale block.
//
// The register tiles of simd_vnni-inl.h give each 32-element block 4 int32 lanes, so every 128
// elements of a (row, token) pair cost 2 vpdpbusd but also a convert, a scale multiply and an
// FMA, and each weight group is unpacked again for every 3 tokens. Here a block's elements all
// land in ONE lane: register m holds elements 4m..4m+3 of 16 blocks, so 8 vpdpbusd (16-element
// lanes: 4) finish 16 whole blocks before the one convert + multiply + FMA. The float work per
// element drops 4x (Q6_K too: one 16-element lane per scale replaces the tiles' two split
// accumulators). 1.5B Q4_0 prefill, 512 tokens, 2 threads: 105-108 -> 161-165 tok/s.
//
// That layout cannot be read out of the GGUF blocks in registers cheaply, so a block of weight
// rows (kRepackBytes, L2-sized) is rearranged into per-thread scratch once and then multiplied
// with every token of the call; the model's mapped weights are still never copied as a whole.
//
// Activations are rearranged once per call into the same lane layout ("chunks" of 16 lanes):
//   int8  y[S][64]       S = 8 (32-element lanes) or 4 (16-element lanes); register m, lane k:
//                        elements 4m..4m+3 of the lane's block (zero past the row's end)
//   int32 neg_sum[16]    -(sum of the lane's activation bytes), for the weights' bias
//   f32   dx[16]         the lane's activation scale
//   f32   xsum[16]       the lane's d_x * sum q (the minimum terms of Q4_K, Q4_1, Q2_K, ...)
// Weights in scratch, per row and chunk: u8 w[S][64] (the lane layout, biased unsigned as in
// simd_vnni-inl.h), f32 scale[16], and f32 min[16] for the types with minimums.
//
// Every (row, token) result takes the same operations in the same order whatever the tile
// shape, the row block or the thread split, so results do not depend on them. They differ from
// the few-token kernels' in the last bits (the order in which block sums are added).
//
// Included by simd_kernels.cpp inside namespace whale::simd::HWY_NAMESPACE::vnni (AVX3_DL).

namespace lanes {

template <int S>
using Chunk = LaneChunk<16, S>;  // kernels/lane_chunk.h

inline int64_t chunks_of(int64_t cols, int lane_elems) {
  return lane_chunks(cols, lane_elems, 16);
}

// Lanes of chunk c that hold elements of the row (its blocks are whole lanes).
inline __mmask16 valid_lanes(int64_t cols, int64_t c, int lane_elems) {
  const int64_t left = (cols - c * 16 * lane_elems) / lane_elems;
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
}

WHALE_VNNI_INLINE __m512i lane_index() {
  return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

// Rearranges quantized activations (quantize_q8's q, d, sum) into chunks of S registers.
template <int S>
WHALE_VNNI_ATTR void pack(const int8_t* q, const float* d, const float* sum, int64_t n_rows,
                          int64_t cols, uint8_t* out) {
  using C = Chunk<S>;
  const int64_t nb = cols / 32, n_chunks = chunks_of(cols, C::kLaneElems);
  const __m512i ones = _mm512_set1_epi8(1);
  // 16-element lanes: lane k takes block k / 2's scale
  const __m512i half_block = _mm512_srli_epi32(lane_index(), 1);
  for (int64_t t = 0; t < n_rows; ++t) {
    for (int64_t c = 0; c < n_chunks; ++c) {
      const __mmask16 valid = valid_lanes(cols, c, C::kLaneElems);
      const int8_t* qc = q + t * cols + c * C::kElems;
      uint8_t* o = out + (t * n_chunks + c) * C::kBytes;
      __m512i isum = _mm512_setzero_si512();
      for (int m = 0; m < S; ++m) {
        // lane k's register m: dword S k + m of the chunk
        const __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(S)),
                                             _mm512_set1_epi32(m));
        const __m512i y = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, idx, qc, 4);
        _mm512_store_si512(o + 64 * m, y);
        isum = _mm512_dpbusd_epi32(isum, ones, y);
      }
      _mm512_store_si512(o + C::kNegSum, _mm512_sub_epi32(_mm512_setzero_si512(), isum));
      const int64_t b0 = t * nb + c * C::kElems / 32;
      if constexpr (S == 8) {
        _mm512_store_ps(o + C::kDx, _mm512_maskz_loadu_ps(valid, d + b0));
        _mm512_store_ps(o + C::kXSum, _mm512_maskz_loadu_ps(valid, sum + b0));
      } else {
        const int64_t blocks = std::min<int64_t>(8, nb - c * C::kElems / 32);
        const __m512 d8 = _mm512_maskz_loadu_ps(__mmask16((1u << blocks) - 1), d + b0);
        const __m512 dx = _mm512_maskz_permutexvar_ps(valid, half_block, d8);
        _mm512_store_ps(o + C::kDx, dx);
        _mm512_store_ps(o + C::kXSum, _mm512_mul_ps(_mm512_cvtepi32_ps(isum), dx));
      }
    }
  }
}

// Weight formats: S, the bias shift (as in simd_vnni-inl.h: u = w + (1 << shift); -1: none),
// and repack(), which writes one chunk of one row in the scratch layout.
template <int kS, bool kMin>
struct ScratchChunk {
  static constexpr int S = kS;
  static constexpr bool kHasMin = kMin;
  static constexpr int kScale = 64 * S, kMinOff = kScale + 64;
  static constexpr int kBytes = kScale + 64 + (kMin ? 64 : 0);
};

WHALE_VNNI_INLINE __m512i gather(__mmask16 valid, __m512i byte_offsets, const uint8_t* base) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, byte_offsets, base, 1);
}
// The f16 in the low half of each gathered dword, as f32.
WHALE_VNNI_INLINE __m512 f16_lanes(__m512i v) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}
// Per lane k: the dword at base + idx[k] + off, shifted right by shifts[k], each byte & mask.
WHALE_VNNI_INLINE __m512i gather_bits(__mmask16 valid, __m512i idx, int off, const uint8_t* base,
                                      __m512i shifts, uint8_t mask) {
  const __m512i v = gather(valid, _mm512_add_epi32(idx, _mm512_set1_epi32(off)), base);
  return _mm512_and_si512(_mm512_srlv_epi32(v, shifts), _mm512_set1_epi8(char(mask)));
}
WHALE_VNNI_INLINE __m512i low4_32(__m512i v) {
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}
WHALE_VNNI_INLINE __m512i high4_32(__m512i v) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 4), _mm512_set1_epi8(0x0F));
}

struct LQ8_0 : ScratchChunk<8, false> {
  static constexpr int kBlockBytes = 34, kBiasShift = 7;
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    const uint8_t* base = row + c * 16 * kBlockBytes;
    const __m512i blk = _mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(kBlockBytes));
    const __m512i flip = _mm512_set1_epi8(char(0x80));
    for (int m = 0; m < 8; ++m) {
      const __m512i v = gather(valid, _mm512_add_epi32(blk, _mm512_set1_epi32(2 + 4 * m)), base);
      _mm512_store_si512(dst + 64 * m, _mm512_xor_si512(v, flip));
    }
    _mm512_store_ps(dst + kScale, f16_lanes(gather(valid, blk, base)));
  }
};

// The f16 d of 16 blocks as their scales; with a minimum (Q4_1, Q5_1: w = d q + m, the f16 m
// right after d), -m as the minimums, which enter as Q4_K's do (f -= min * xsum).
template <class F>
WHALE_VNNI_INLINE void store_d_m(__m512i dm, uint8_t* dst) {
  _mm512_store_ps(dst + F::kScale, f16_lanes(dm));
  if constexpr (F::kHasMin)
    _mm512_store_ps(dst + F::kMinOff,
                    _mm512_sub_ps(_mm512_setzero_ps(), f16_lanes(_mm512_srli_epi32(dm, 16))));
}

// Q4_0 (u = w + 8) and Q4_1 (kMin: u = q, the minimum after d).
template <bool kMin>
struct LQ4_01 : ScratchChunk<8, kMin> {
  static constexpr int kBlockBytes = kMin ? 20 : 18, kBiasShift = kMin ? -1 : 3, kQs = kMin ? 4 : 2;
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    const uint8_t* base = row + c * 16 * kBlockBytes;
    const __m512i blk = _mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(kBlockBytes));
    for (int j = 0; j < 4; ++j) {  // low nibbles: elements 4j.., high: 16 + 4j..
      const __m512i v = gather(valid, _mm512_add_epi32(blk, _mm512_set1_epi32(kQs + 4 * j)), base);
      _mm512_store_si512(dst + 64 * j, low4_32(v));
      _mm512_store_si512(dst + 64 * (j + 4), high4_32(v));
    }
    store_d_m<LQ4_01>(gather(valid, blk, base), dst);
  }
};
using LQ4_0 = LQ4_01<false>;
using LQ4_1 = LQ4_01<true>;

// Q5_0 (u = w + 16) and Q5_1 (kMin: u = q, the minimum after d); qh after d (and m), then qs.
template <bool kMin>
struct LQ5_01 : ScratchChunk<8, kMin> {
  static constexpr int kBlockBytes = kMin ? 24 : 22, kBiasShift = kMin ? -1 : 4;
  static constexpr int kQh = kMin ? 4 : 2, kQs = kQh + 4;
  // The 4 bits of qh for elements e..e+3 as bit 4 of 4 bytes.
  WHALE_VNNI_INLINE static __m512i fifth_bits(__m512i qh, int e) {
    const __m512i nib = _mm512_and_si512(_mm512_srli_epi32(qh, unsigned(e)), _mm512_set1_epi32(15));
    const __m512i spread = _mm512_mullo_epi32(nib, _mm512_set1_epi32(0x00204081));
    return _mm512_slli_epi32(_mm512_and_si512(spread, _mm512_set1_epi32(0x01010101)), 4);
  }
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    const uint8_t* base = row + c * 16 * kBlockBytes;
    const __m512i blk = _mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(kBlockBytes));
    const __m512i qh = gather(valid, _mm512_add_epi32(blk, _mm512_set1_epi32(kQh)), base);
    for (int j = 0; j < 4; ++j) {
      const __m512i v = gather(valid, _mm512_add_epi32(blk, _mm512_set1_epi32(kQs + 4 * j)), base);
      _mm512_store_si512(dst + 64 * j, _mm512_or_si512(low4_32(v), fifth_bits(qh, 4 * j)));
      _mm512_store_si512(dst + 64 * (j + 4),
                         _mm512_or_si512(high4_32(v), fifth_bits(qh, 16 + 4 * j)));
    }
    store_d_m<LQ5_01>(gather(valid, blk, base), dst);
  }
};
using LQ5_0 = LQ5_01<false>;
using LQ5_1 = LQ5_01<true>;

// IQ4_NL / IQ4_XS (kXS): nibbles in Q4_0's order index kIq4Values, stored as value + 128 (bias
// shift 7, as Q8_0) by one byte shuffle. IQ4_NL: a chunk is 16 blocks (nibbles at byte 2).
// IQ4_XS: 2 super-blocks, lane k its sub-block k % 8 (nibbles at 8 + 16 (k % 8)).
template <bool kXS>
struct LIQ4 : ScratchChunk<8, false> {
  static constexpr int kBlockBytes = kXS ? 136 : 18, kBiasShift = 7;
  static constexpr DwordIndex make() {
    DwordIndex r{};
    for (int k = 0; k < 16; ++k)
      r.v[k] = uint32_t(kXS ? 136 * (k / 8) + 8 + 16 * (k % 8) : kBlockBytes * k + 2);
    return r;
  }
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    alignas(64) static constexpr DwordIndex kQs = make();
    const uint8_t* base = row + c * (kXS ? 2 : 16) * kBlockBytes;
    const __m512i biased = iq4_biased_values();  // simd_vnni-inl.h
    for (int j = 0; j < 4; ++j) {                // low nibbles: elements 4j.., high: 16 + 4j..
      const __m512i v =
          gather(valid, _mm512_add_epi32(_mm512_load_si512(kQs.v), _mm512_set1_epi32(4 * j)), base);
      _mm512_store_si512(dst + 64 * j, _mm512_shuffle_epi8(biased, low4_32(v)));
      _mm512_store_si512(dst + 64 * (j + 4), _mm512_shuffle_epi8(biased, high4_32(v)));
    }
    if constexpr (kXS) {
      __m256 scale[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int b = 0; b < 2; ++b)
        if (valid >> (8 * b) & 1) scale[b] = x86::lanes::iq4_xs_scales(base + b * kBlockBytes);
      _mm512_store_ps(dst + kScale,
                      _mm512_insertf32x8(_mm512_castps256_ps512(scale[0]), scale[1], 1));
    } else {
      const __m512i blk = _mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(kBlockBytes));
      _mm512_store_ps(dst + kScale, f16_lanes(gather(valid, blk, base)));
    }
  }
};
using LIQ4_NL = LIQ4<false>;
using LIQ4_XS = LIQ4<true>;

// Q4_K / Q5_K: a chunk is 2 super-blocks; lane k is sub-block s = k % 8 of super-block k / 8:
// nibbles of qs[32 (s / 2) ..] (high for odd s; qs at byte 16, Q5_K: 48). Q5_K adds the fifth
// bits: bit s of qh[l] (qh at byte 16).
template <bool kFifth>
struct LQ4_5K : ScratchChunk<8, true> {
  static constexpr int kBlockBytes = kFifth ? 176 : 144, kBiasShift = -1;
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    const uint8_t* base = row + c * 2 * kBlockBytes;
    constexpr int q = kFifth ? 48 : 16, b1 = kBlockBytes;
    alignas(64) static constexpr DwordIndex kQs = {
        {q, q, q + 32, q + 32, q + 64, q + 64, q + 96, q + 96, b1 + q, b1 + q, b1 + q + 32,
         b1 + q + 32, b1 + q + 64, b1 + q + 64, b1 + q + 96, b1 + q + 96}};
    alignas(64) static constexpr DwordIndex kQh = {{16, 16, 16, 16, 16, 16, 16, 16, b1 + 16,
                                                    b1 + 16, b1 + 16, b1 + 16, b1 + 16, b1 + 16,
                                                    b1 + 16, b1 + 16}};
    alignas(64) static constexpr DwordIndex kSub = {
        {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}};
    const __m512i qs = _mm512_load_si512(kQs.v);
    for (int m = 0; m < 8; ++m) {
      const __m512i off = _mm512_set1_epi32(4 * m);
      __m512i v = gather(valid, _mm512_add_epi32(qs, off), base);
      v = low4_32(_mm512_mask_srli_epi32(v, __mmask16(0xAAAA), v, 4));  // odd: high nibbles
      if constexpr (kFifth) {
        const __m512i h =
            gather_bits(valid, _mm512_load_si512(kQh.v), 4 * m, base, _mm512_load_si512(kSub.v), 1);
        v = _mm512_or_si512(v, _mm512_slli_epi32(h, 4));
      }
      _mm512_store_si512(dst + 64 * m, v);
    }
    Q4_K::Unit u[2] = {};  // the scales and minimums are laid out alike in both
    for (int b = 0; b < 2; ++b)
      if (valid >> (8 * b) & 1) Q4_K::prepare(base + b * kBlockBytes, u[b]);
    _mm512_store_ps(dst + kScale,
                    _mm512_insertf32x8(_mm512_castps256_ps512(u[0].scale), u[1].scale, 1));
    _mm512_store_ps(dst + kMinOff,
                    _mm512_insertf32x8(_mm512_castps256_ps512(u[0].min), u[1].min, 1));
  }
};
using LQ4_K = LQ4_5K<false>;
using LQ5_K = LQ4_5K<true>;

// Q6_K: a chunk is one super-block; lane k is the 16 elements 16k.. (scale k). Element
// 16k + l' (l' < 16) of half n = k / 8, 32-sub-block s = (k % 8) / 2 at l = 16 (k & 1) + l':
// low bits ql[64 n + 32 (s & 1) + l] (>> 4 for s >= 2), high bits (qh[32 n + l] >> 2s) & 3.
struct LQ6_K : ScratchChunk<4, false> {
  static constexpr int kBlockBytes = 210, kBiasShift = 5;
  static constexpr DwordIndex make(bool high) {
    DwordIndex r{};
    for (int k = 0; k < 16; ++k) {
      const int n = k / 8, s = (k % 8) / 2, l = 16 * (k & 1);
      r.v[k] = uint32_t(high ? 128 + 32 * n + l : 64 * n + 32 * (s & 1) + l);
    }
    return r;
  }
  static constexpr DwordIndex shifts(bool high) {
    DwordIndex r{};
    for (int k = 0; k < 16; ++k) {
      const int s = (k % 8) / 2;
      r.v[k] = uint32_t(high ? 2 * s : (s >= 2 ? 4 : 0));
    }
    return r;
  }
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    alignas(64) static constexpr DwordIndex kQl = make(false), kQh = make(true);
    alignas(64) static constexpr DwordIndex kShiftQl = shifts(false), kShiftQh = shifts(true);
    const uint8_t* base = row + c * kBlockBytes;
    const __m512i ql = _mm512_load_si512(kQl.v), qh = _mm512_load_si512(kQh.v);
    const __m512i sl = _mm512_load_si512(kShiftQl.v), sh = _mm512_load_si512(kShiftQh.v);
    for (int m = 0; m < 4; ++m) {
      const __m512i lo = gather_bits(valid, ql, 4 * m, base, sl, 0x0F);
      const __m512i hi = gather_bits(valid, qh, 4 * m, base, sh, 0x03);
      _mm512_store_si512(dst + 64 * m, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 4)));
    }
    const float d = _cvtsh_ss(uint16_t(base[208] | (base[209] << 8)));
    const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + 192));
    _mm512_store_ps(dst + kScale,
                    _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(s8)), _mm512_set1_ps(d)));
  }
};

// Q2_K / Q3_K (kQ3): a chunk is one super-block; lane k is the 16 elements 16k.. (one scale,
// Q2_K also one minimum): half n = k / 8, shift j = (k % 8) / 2, l = 16 (k & 1), low 2 bits
// (qs[32 n + l + i] >> 2j) & 3 (qs at byte 16, Q3_K: 32). Q2_K: u = those bits, w = d sc u -
// dmin m. Q3_K: u = low bits | ((hmask[l + i] >> (4n + j)) & 1) << 2, w = d sc (u - 4).
template <bool kQ3>
struct LQ2_3K : ScratchChunk<4, !kQ3> {
  using Base = ScratchChunk<4, !kQ3>;
  static constexpr int kBlockBytes = kQ3 ? 110 : 84, kBiasShift = kQ3 ? 2 : -1;
  static constexpr DwordIndex make(int qs, bool shifts, bool high) {
    DwordIndex r{};
    for (int k = 0; k < 16; ++k) {
      const int n = k / 8, j = (k % 8) / 2, l = 16 * (k & 1);
      r.v[k] = uint32_t(shifts ? (high ? 4 * n + j : 2 * j) : (high ? l : qs + 32 * n + l));
    }
    return r;
  }
  WHALE_VNNI_INLINE static void repack(const uint8_t* row, int64_t c, __mmask16 valid,
                                       uint8_t* dst) {
    alignas(64) static constexpr DwordIndex kQs = make(kQ3 ? 32 : 16, false, false);
    alignas(64) static constexpr DwordIndex kHm = make(0, false, true);
    alignas(64) static constexpr DwordIndex kShiftQs = make(0, true, false);
    alignas(64) static constexpr DwordIndex kShiftHm = make(0, true, true);
    const uint8_t* base = row + c * kBlockBytes;
    for (int m = 0; m < 4; ++m) {
      __m512i u = gather_bits(valid, _mm512_load_si512(kQs.v), 4 * m, base,
                              _mm512_load_si512(kShiftQs.v), 0x03);
      if constexpr (kQ3) {
        const __m512i h = gather_bits(valid, _mm512_load_si512(kHm.v), 4 * m, base,
                                      _mm512_load_si512(kShiftHm.v), 0x01);
        u = _mm512_or_si512(u, _mm512_slli_epi32(h, 2));
      }
      _mm512_store_si512(dst + 64 * m, u);
    }
    __m256 lo, hi;  // the 16 lanes' scales (then minimums) in two halves
    if constexpr (kQ3)
      x86::Q3_K::scales(base, &lo, &hi);
    else
      x86::Q2_K::factors<false>(base, &lo, &hi);
    _mm512_store_ps(dst + Base::kScale, _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1));
    if constexpr (!kQ3) {
      x86::Q2_K::factors<true>(base, &lo, &hi);
      _mm512_store_ps(dst + Base::kMinOff, _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1));
    }
  }
};
using LQ2_K = LQ2_3K<false>;
using LQ3_K = LQ2_3K<true>;

// The lane sums of a, b, c and d as 4 floats. Each vector is summed by the same tree whatever
// the others hold (the shuffles only move data), so a result does not depend on the tile shape.
WHALE_VNNI_INLINE __m128 sum_lanes4(__m512 a, __m512 b, __m512 c, __m512 d) {
  // quads (128 bits): [a0+a2, a1+a3, b0+b2, b1+b3], then [a, b, c, d] with 4 partial sums each
  const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(3, 2, 3, 2)));
  __m512 v = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(3, 1, 3, 1)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
  const __m512i first = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castps512_ps128(_mm512_permutexvar_ps(first, v));
}

// One chunk of an R x T tile: the integer lane sums of R rows x T tokens, then each (row, token)
// float sum updated as f = cvt(int) * (scale_w * scale_x) (+ f), kept in `fsum` (L1) between
// chunks and in registers after the last. Tiles of 4 x 3 with the float sums in registers ran
// at ~1.0 vpdpbusd per cycle on Zen 5, which can issue 2: the 512-bit loads feeding vpdpbusd
// were the limit (R + T loads per R T products), so the float sums moved to memory to make room
// for 4 x 5 (9 loads per 20 products). The first chunk writes instead of adding to zeros and
// the last keeps its sums in registers, so that 3-chunk rows see little of that memory.
enum class ChunkStep { kFirst, kMiddle, kLast, kOnly };

template <class F, int R, int T, ChunkStep kStep>
WHALE_VNNI_INLINE void tile_chunk(const uint8_t* wc, int64_t w_row_bytes, const uint8_t* xc,
                                  int64_t x_tok_bytes, __m512* fsum, __m512* last) {
  using C = Chunk<F::S>;
  constexpr bool kFirstWrite = kStep == ChunkStep::kFirst || kStep == ChunkStep::kOnly;
  constexpr bool kKeep = kStep == ChunkStep::kLast || kStep == ChunkStep::kOnly;
  __m512i acc[R * T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    __m512i init = _mm512_setzero_si512();
    if constexpr (F::kBiasShift >= 0)
      init = _mm512_slli_epi32(_mm512_load_si512(xc + t * x_tok_bytes + C::kNegSum), F::kBiasShift);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r * T + t] = init;
  }
#pragma GCC unroll 8
  for (int m = 0; m < F::S; ++m) {
    __m512i w[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) w[r] = _mm512_load_si512(wc + r * w_row_bytes + 64 * m);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512i y = _mm512_load_si512(xc + t * x_tok_bytes + 64 * m);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r * T + t] = _mm512_dpbusd_epi32(acc[r * T + t], w[r], y);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 sw = _mm512_load_ps(wc + r * w_row_bytes + F::kScale);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const int i = r * T + t;
      const __m512 f = _mm512_cvtepi32_ps(acc[i]);
      const __m512 s = _mm512_mul_ps(sw, _mm512_load_ps(xc + t * x_tok_bytes + C::kDx));
      // f * s rounds as fma(f, s, 0) does: the first chunk adds up like the others.
      __m512 a = kFirstWrite ? _mm512_mul_ps(f, s) : _mm512_fmadd_ps(f, s, fsum[i]);
      if constexpr (F::kHasMin)
        a = _mm512_fnmadd_ps(_mm512_load_ps(wc + r * w_row_bytes + F::kMinOff),
                             _mm512_load_ps(xc + t * x_tok_bytes + C::kXSum), a);
      (kKeep ? last[i] : fsum[i]) = a;
    }
  }
}

// y[t * y_stride + r] = row r . token t for R <= 4 rows of scratch (row r at w0 + r *
// w_row_bytes) and T tokens of packed activations (token t at x0 + t * x_tok_bytes), over
// n_chunks chunks.
template <class F, int R, int T>
WHALE_VNNI_ATTR void tile(const uint8_t* w0, int64_t w_row_bytes, const uint8_t* x0,
                          int64_t x_tok_bytes, int64_t n_chunks, float* y, int64_t y_stride) {
  static_assert(R >= 1 && R <= 4, "one 4-float store per token");
  using C = Chunk<F::S>;
  __m512 fsum[R * T], last[R * T];
  if (n_chunks == 1) {
    tile_chunk<F, R, T, ChunkStep::kOnly>(w0, w_row_bytes, x0, x_tok_bytes, fsum, last);
  } else {
    tile_chunk<F, R, T, ChunkStep::kFirst>(w0, w_row_bytes, x0, x_tok_bytes, fsum, last);
    for (int64_t c = 1; c + 1 < n_chunks; ++c)
      tile_chunk<F, R, T, ChunkStep::kMiddle>(w0 + c * F::kBytes, w_row_bytes, x0 + c * C::kBytes,
                                              x_tok_bytes, fsum, last);
    const int64_t c = n_chunks - 1;
    tile_chunk<F, R, T, ChunkStep::kLast>(w0 + c * F::kBytes, w_row_bytes, x0 + c * C::kBytes,
                                          x_tok_bytes, fsum, last);
  }
  // Token t's R row results go to y[t * y_stride + 0 .. R - 1] (one 4-float store for R = 4).
  const __m512 z = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    const __m128 sums = sum_lanes4(last[t], R > 1 ? last[T + t] : z, R > 2 ? last[2 * T + t] : z,
                                   R > 3 ? last[3 * T + t] : z);
    if constexpr (R == 4) {
      _mm_storeu_ps(y + t * y_stride, sums);
    } else {
      alignas(16) float rest[4];
      _mm_store_ps(rest, sums);
      for (int r = 0; r < R; ++r) y[t * y_stride + r] = rest[r];
    }
  }
}

// Scratch for one block of rearranged weight rows per thread: L2-sized so that the block stays
// there while every token passes over it.
constexpr int64_t kRepackBytes = 384 << 10;
// Tile: 4 rows x 5 tokens. Compute-bound microbenchmark (data in L1/L2, Zen 5, one thread),
// vpdpbusd per cycle for 3-chunk / 18-chunk rows: 4 x 3 with the float sums in registers
// 1.00 / 0.93; 4 x 5 here 1.25 / 1.28; 5 x 4 1.25 / 1.28; 3 x 8 1.13 / 1.20.
constexpr int kRows = 4, kTokens = 5;
constexpr int64_t kRepackAheadRows = 4;

template <class F, int T>
WHALE_VNNI_ATTR void tokens_over_rows(const uint8_t* scratch, int64_t w_row_bytes, int64_t rows,
                                      const uint8_t* x0, int64_t x_tok_bytes, int64_t n_chunks,
                                      int64_t t0, int64_t r0, float* y, int64_t y_stride) {
  float* y0 = y + t0 * y_stride + r0;
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    tile<F, kRows, T>(scratch + r * w_row_bytes, w_row_bytes, x0, x_tok_bytes, n_chunks, y0 + r,
                      y_stride);
  for (; r < rows; ++r)
    tile<F, 1, T>(scratch + r * w_row_bytes, w_row_bytes, x0, x_tok_bytes, n_chunks, y0 + r,
                  y_stride);
}

// The last n < kTokens tokens: one pass of n-token tiles.
template <class F, int T = kTokens - 1>
WHALE_VNNI_ATTR void tail_tokens(int64_t n, const uint8_t* scratch, int64_t w_row_bytes,
                                 int64_t rows, const uint8_t* x0, int64_t x_tok_bytes,
                                 int64_t n_chunks, int64_t t0, int64_t r0, float* y,
                                 int64_t y_stride) {
  if constexpr (T >= 1) {
    if (n == T)
      tokens_over_rows<F, T>(scratch, w_row_bytes, rows, x0, x_tok_bytes, n_chunks, t0, r0, y,
                             y_stride);
    else
      tail_tokens<F, T - 1>(n, scratch, w_row_bytes, rows, x0, x_tok_bytes, n_chunks, t0, r0, y,
                            y_stride);
  }
}

template <class F>
WHALE_VNNI_ATTR void matmul(const RowRange& w, const uint8_t* x_lanes, int64_t n_tok, float* y,
                            int64_t y_stride) {
  using C = Chunk<F::S>;
  const int64_t n_chunks = chunks_of(w.cols, C::kLaneElems);
  const int64_t w_row_bytes = n_chunks * F::kBytes, x_tok_bytes = n_chunks * C::kBytes;
  const int64_t block_rows = std::max<int64_t>(kRows, kRepackBytes / w_row_bytes / kRows * kRows);
  thread_local std::vector<uint8_t> storage;
  uint8_t* scratch = grow_aligned(storage, size_t(block_rows * w_row_bytes));
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
    int64_t t = 0;
    for (; t + kTokens <= n_tok; t += kTokens)
      tokens_over_rows<F, kTokens>(scratch, w_row_bytes, rows, x_lanes + t * x_tok_bytes,
                                   x_tok_bytes, n_chunks, t, r0, y, y_stride);
    tail_tokens<F>(n_tok - t, scratch, w_row_bytes, rows, x_lanes + t * x_tok_bytes, x_tok_bytes,
                   n_chunks, t, r0, y, y_stride);
  }
}

}  // namespace lanes
