// Dequantizers for the float formats, the 32-element block formats (Q4_0 ... Q8_0) and the
// 4-bit non-linear ones (IQ4_NL, IQ4_XS). The K-quant super-block formats live in
// dequantize_k.cpp.
#include "quant/dequantize.h"

#include "quant/block_layout.h"
#include "quant/dequantize_k.h"
#include "quant/iq4_values.h"

namespace whale {

using namespace quant_detail;

namespace {

// Q4_0: f16 d, 16 bytes of nibbles. Element j is the low nibble of byte j, element j+16 the
// high nibble; value = (q - 8) * d.
void dequant_q4_0(const uint8_t* b, float* y) {
  float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = float((qs[j] & 0xF) - 8) * d;
    y[j + kQK / 2] = float((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1: f16 d, f16 m, nibbles as Q4_0; value = q * d + m.
void dequant_q4_1(const uint8_t* b, float* y) {
  float d = load_f16(b), m = load_f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = float(qs[j] & 0xF) * d + m;
    y[j + kQK / 2] = float(qs[j] >> 4) * d + m;
  }
}

// Q5_0/Q5_1: the fifth bit of element j is bit j of the u32 qh.
int q5_value(const uint8_t* qs, uint32_t qh, int j) {
  int low = j < kQK / 2 ? (qs[j] & 0xF) : (qs[j - kQK / 2] >> 4);
  return low | int(((qh >> j) & 1) << 4);
}

// Q5_0: f16 d, u32 qh, nibbles; value = (q - 16) * d.
void dequant_q5_0(const uint8_t* b, float* y) {
  float d = load_f16(b);
  uint32_t qh = load_u32(b + 2);
  for (int j = 0; j < kQK; ++j) y[j] = float(q5_value(b + 6, qh, j) - 16) * d;
}

// Q5_1: f16 d, f16 m, u32 qh, nibbles; value = q * d + m.
void dequant_q5_1(const uint8_t* b, float* y) {
  float d = load_f16(b), m = load_f16(b + 2);
  uint32_t qh = load_u32(b + 4);
  for (int j = 0; j < kQK; ++j) y[j] = float(q5_value(b + 8, qh, j)) * d + m;
}

// IQ4_NL: f16 d, 16 bytes of nibbles in Q4_0's order; value = d * kIq4Values[q].
void dequant_iq4_nl(const uint8_t* b, float* y) {
  float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = d * float(kIq4Values[qs[j] & 0xF]);
    y[j + kQK / 2] = d * float(kIq4Values[qs[j] >> 4]);
  }
}

// IQ4_XS: f16 d, u16 scales_h, scales_l[4], then per 32-element sub-block s 16 bytes of
// nibbles as IQ4_NL; value = (d * scale_s) * kIq4Values[q].
void dequant_iq4_xs(const uint8_t* b, float* y) {
  float d = load_f16(b);
  for (int s = 0; s < kQKK / kQK; ++s) {
    const float dl = d * float(iq4_xs_scale(b, s));
    const uint8_t* qs = b + 8 + 16 * s;
    for (int j = 0; j < kQK / 2; ++j) {
      y[kQK * s + j] = dl * float(kIq4Values[qs[j] & 0xF]);
      y[kQK * s + j + kQK / 2] = dl * float(kIq4Values[qs[j] >> 4]);
    }
  }
}

// Q8_0: f16 d, 32 signed bytes; value = q * d.
void dequant_q8_0(const uint8_t* b, float* y) {
  float d = load_f16(b);
  const auto* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < kQK; ++j) y[j] = float(qs[j]) * d;
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_dequantizer(TensorType t) {
  switch (t) {
    case TensorType::Q4_0:
      return dequant_q4_0;
    case TensorType::Q4_1:
      return dequant_q4_1;
    case TensorType::Q5_0:
      return dequant_q5_0;
    case TensorType::Q5_1:
      return dequant_q5_1;
    case TensorType::Q8_0:
      return dequant_q8_0;
    case TensorType::Q2_K:
      return dequant_q2_k;
    case TensorType::Q3_K:
      return dequant_q3_k;
    case TensorType::Q4_K:
      return dequant_q4_k;
    case TensorType::Q5_K:
      return dequant_q5_k;
    case TensorType::Q6_K:
      return dequant_q6_k;
    case TensorType::Q8_K:
      return dequant_q8_k;
    case TensorType::IQ4_NL:
      return dequant_iq4_nl;
    case TensorType::IQ4_XS:
      return dequant_iq4_xs;
    default:
      return nullptr;
  }
}

}  // namespace

bool can_dequantize(TensorType t) {
  return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16 ||
         block_dequantizer(t) != nullptr;
}

Status dequantize_row(TensorType t, const void* src, float* dst, int64_t n) {
  const auto& tr = traits(t);
  if (!can_dequantize(t))
    return make_error("cannot dequantize tensor type %s", std::string(tr.name).c_str());
  if (n < 0 || n % tr.block_size != 0)
    return make_error("dequantize %s: %lld elements is not a whole number of %u-element blocks",
                      std::string(tr.name).c_str(), (long long)n, tr.block_size);
  const auto* s = static_cast<const uint8_t*>(src);
  switch (t) {
    case TensorType::F32:
      std::memcpy(dst, s, size_t(n) * 4);
      return Status::Ok();
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_f16(s + 2 * i);
      return Status::Ok();
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i)
        dst[i] = bf16_to_f32(uint16_t(s[2 * i] | (s[2 * i + 1] << 8)));
      return Status::Ok();
    default:
      break;
  }
  BlockFn fn = block_dequantizer(t);
  for (int64_t b = 0; b < n / tr.block_size; ++b) fn(s + b * tr.type_size, dst + b * tr.block_size);
  return Status::Ok();
}

}  // namespace whale
