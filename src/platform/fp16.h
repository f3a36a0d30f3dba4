// IEEE half, bfloat16 and FP8 E4M3 conversions (scalar reference; exact, round-to-nearest-even).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace whale {

inline float f32_from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint32_t bits_from_f32(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

inline float bf16_to_f32(uint16_t h) {
  return f32_from_bits(uint32_t(h) << 16);
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t b = bits_from_f32(f);
  if ((b & 0x7fffffff) > 0x7f800000) return uint16_t((b >> 16) | 0x40);  // quiet NaN
  b += 0x7fff + ((b >> 16) & 1);                                         // round to nearest even
  return uint16_t(b >> 16);
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // zero or subnormal: value = mant * 2^-24
    float v = std::ldexp(float(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return f32_from_bits(sign | 0x7f800000 | (mant << 13));
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

inline uint16_t f32_to_f16(float f) {
  uint32_t b = bits_from_f32(f);
  uint32_t sign = (b >> 16) & 0x8000;
  uint32_t abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return uint16_t(sign | 0x7e00);   // NaN
  if (abs >= 0x477ff000) return uint16_t(sign | 0x7c00);  // overflow (>= 65520) -> inf
  if (abs < 0x38800000) {
    // result is subnormal or zero: round abs * 2^24 to nearest even integer
    float v = f32_from_bits(abs);
    float scaled = v * 16777216.0f;  // exact (power of two)
    float r = std::nearbyint(scaled);
    return uint16_t(sign | uint32_t(r));
  }
  uint32_t mant = abs & 0x7fffff;
  uint32_t exp = (abs >> 23) - 112;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;  // carries into exponent correctly
  return uint16_t(sign | h);
}

// FP8 E4M3 (OCP "fn" variant as used by DeepSeek-V3: no infinities, 0x7f/0xff are NaN).
inline float fp8_e4m3_to_f32(uint8_t v) {
  uint32_t sign = v >> 7;
  uint32_t exp = (v >> 3) & 0xf;
  uint32_t mant = v & 0x7;
  float r;
  if (exp == 0xf && mant == 0x7) {
    r = NAN;
  } else if (exp == 0) {
    r = std::ldexp(float(mant), -9);  // subnormal: mant/8 * 2^-6
  } else {
    r = std::ldexp(1.0f + float(mant) / 8.0f, int(exp) - 7);
  }
  return sign ? -r : r;
}

}  // namespace whale
