// Q4_K / Q5_K: the 8 six-bit scales and 8 six-bit minimums of a super-block, packed in the 12
// bytes after d and dmin, unpacked to one byte each (8 bytes per 64-bit word), for the SIMD
// kernels to widen. Words a = bytes 0-3, b = 4-7, c = 8-11: scales 0-3 = a & 63, minimums 0-3 =
// b & 63, scales 4-7 = (c & 15) | (a >> 6) << 4, minimums 4-7 = (c >> 4) | (b >> 6) << 4 (per
// byte).
#pragma once

#include <cstdint>
#include <cstring>

namespace whale {

inline void unpack_k4_scales(const uint8_t* packed, uint64_t* scales, uint64_t* mins) {
  uint32_t a, b, c;
  std::memcpy(&a, packed, 4);
  std::memcpy(&b, packed + 4, 4);
  std::memcpy(&c, packed + 8, 4);
  *scales = (a & 0x3F3F3F3Fu) | uint64_t((c & 0x0F0F0F0Fu) | ((a >> 2) & 0x30303030u)) << 32;
  *mins = (b & 0x3F3F3F3Fu) | uint64_t(((c >> 4) & 0x0F0F0F0Fu) | ((b >> 2) & 0x30303030u)) << 32;
}

}  // namespace whale
