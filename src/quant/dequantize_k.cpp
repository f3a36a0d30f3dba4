// K-quant dequantizers. Byte offsets follow ggml's block_q*_K structs; the arithmetic follows
// the same evaluation order as llama.cpp (scale products first, then times the quant, then the
// min subtracted) so results are bit-identical.
#include "quant/dequantize_k.h"

#include "quant/block_layout.h"

namespace whale::quant_detail {

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64] (2-bit), f16 d, f16 dmin.
// 16 groups of 16 elements. Each 128-element half uses 32 bytes of qs; group pairs read the
// same bytes at bit shifts 0, 2, 4, 6.
void dequant_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  float d = load_f16(b + 80), dmin = load_f16(b + 82);
  int group = 0;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* q = qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2) {
      for (int part = 0; part < 2; ++part) {
        uint8_t sc = scales[group++];
        float dl = d * float(sc & 0xF), ml = dmin * float(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * float((q[l + 16 * part] >> shift) & 3) - ml;
      }
    }
  }
}

// Q3_K: hmask[32] (third bit), qs[64] (low 2 bits), scales[12] (16 6-bit scales), f16 d.
// Quant = low bits - (high bit set ? 0 : 4), in [-4, 3]; scale is stored + 32.
// Scale i: low 4 bits in scales[i] (i < 8) or the high nibble of scales[i - 8]; its top 2 bits
// are bits 2*(i/4) .. +1 of scales[8 + i % 4].
void dequant_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* packed = b + 96;
  float d = load_f16(b + 108);
  int8_t scale[16];
  for (int i = 0; i < 16; ++i) {
    int low = i < 8 ? (packed[i] & 0xF) : (packed[i - 8] >> 4);
    int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scale[i] = int8_t((low | (high << 4)) - 32);
  }
  int group = 0;
  uint8_t mask = 1;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* q = qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2, mask = uint8_t(mask << 1)) {
      for (int part = 0; part < 2; ++part) {
        float dl = d * float(scale[group++]);
        for (int l = 0; l < 16; ++l) {
          int k = l + 16 * part;
          int v = ((q[k] >> shift) & 3) - ((hmask[k] & mask) ? 0 : 4);
          *y++ = dl * float(v);
        }
      }
    }
  }
}

// Q4_K: f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins, qs[128]. Eight groups of 32:
// groups 2k and 2k+1 are the low and high nibbles of qs[32k .. 32k+31].
void dequant_q4_k(const uint8_t* b, float* y) {
  float d = load_f16(b), dmin = load_f16(b + 2);
  const uint8_t* packed = b + 4;
  const uint8_t* q = b + 16;
  for (int g = 0; g < 8; g += 2, q += 32) {
    uint8_t sc, m;
    unpack_scale_min_k4(g, packed, sc, m);
    float d1 = d * float(sc), m1 = dmin * float(m);
    unpack_scale_min_k4(g + 1, packed, sc, m);
    float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
  }
}

// Q5_K: as Q4_K plus qh[32]: the fifth bit of group g's element l is bit g of qh[l].
void dequant_q5_k(const uint8_t* b, float* y) {
  float d = load_f16(b), dmin = load_f16(b + 2);
  const uint8_t* packed = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* q = b + 48;
  for (int g = 0; g < 8; g += 2, q += 32) {
    uint8_t sc, m;
    unpack_scale_min_k4(g, packed, sc, m);
    float d1 = d * float(sc), m1 = dmin * float(m);
    unpack_scale_min_k4(g + 1, packed, sc, m);
    float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * float((q[l] & 0xF) + (((qh[l] >> g) & 1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * float((q[l] >> 4) + (((qh[l] >> (g + 1)) & 1) ? 16 : 0)) - m2;
  }
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d. Quant - 32 is in
// [-32, 31]. Each 128-element half uses 64 bytes of ql and 32 of qh: element l + 32*k of the
// half takes ql[l + 32*(k&1)] (nibble k/2) and bits 2k..2k+1 of qh[l].
void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = load_f16(b + 208);
  for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = int((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * float(sc[is]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
  }
}

// Q8_K: f32 d, int8 qs[256], int16 bsums[16] (sums used by dot products; not needed here).
void dequant_q8_k(const uint8_t* b, float* y) {
  float d;
  std::memcpy(&d, b, 4);
  const auto* qs = reinterpret_cast<const int8_t*>(b + 4);
  for (int j = 0; j < kQKK; ++j) y[j] = d * float(qs[j]);
}

}  // namespace whale::quant_detail
