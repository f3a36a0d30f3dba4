// Byte-level helpers shared by the quantizers and dequantizers. Blocks are handled as raw
// little-endian bytes (offsets below follow ggml's block structs) rather than through packed
// structs, so no alignment or padding assumptions leak in.
#pragma once

#include <cstdint>
#include <cstring>

#include "platform/fp16.h"

namespace whale::quant_detail {

constexpr int kQK = 32;    // elements per block of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0
constexpr int kQKK = 256;  // elements per K-quant super-block

inline float load_f16(const uint8_t* p) {
  return f16_to_f32(uint16_t(p[0] | (p[1] << 8)));
}
inline void store_f16(uint8_t* p, float v) {
  uint16_t h = f32_to_f16(v);
  p[0] = uint8_t(h & 0xff);
  p[1] = uint8_t(h >> 8);
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}

// Q4_K / Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes:
//   bytes 0-3:  scales 0-3 (low 6 bits), top 2 bits = high bits of scales 4-7
//   bytes 4-7:  mins 0-3 (low 6 bits),   top 2 bits = high bits of mins 4-7
//   bytes 8-11: low nibble = low 4 bits of scales 4-7, high nibble = low 4 bits of mins 4-7
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    min = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}
inline void pack_scale_min_k4(const uint8_t scales[8], const uint8_t mins[8], uint8_t q[12]) {
  for (int j = 0; j < 4; ++j) {
    q[j] = uint8_t((scales[j] & 63) | ((scales[j + 4] >> 4) << 6));
    q[j + 4] = uint8_t((mins[j] & 63) | ((mins[j + 4] >> 4) << 6));
    q[j + 8] = uint8_t((scales[j + 4] & 0xF) | ((mins[j + 4] & 0xF) << 4));
  }
}

}  // namespace whale::quant_detail
