// The 16 values that IQ4_NL and IQ4_XS nibbles index (ggml's kvalues_iq4nl): a non-uniform
// 4-bit grid, denser near zero, where weights are.
#pragma once

#include <cstdint>

namespace whale {

alignas(16) inline constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                      1,    13,   25,  38,  53,  69,  89,  113};

// The sub-block scale of an IQ4_XS super-block (6 bits: the low nibble in scales_l, 2 high
// bits in scales_h), stored + 32.
inline int iq4_xs_scale(const uint8_t* block, int s) {
  const int high = ((block[2] | (block[3] << 8)) >> (2 * s)) & 3;
  return (((block[4 + s / 2] >> (4 * (s % 2))) & 0x0F) | (high << 4)) - 32;
}

}  // namespace whale
