// Random test data shared by the kernel tests: activations and weights of every type.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/dequantize.h"
#include "quant/quantize.h"
#include "quant/types.h"
#include "simd_test_util.h"

namespace whale {

inline const TensorType kTypes[] = {
    TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0,   TensorType::Q4_1,
    TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K,   TensorType::Q3_K,
    TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::IQ4_NL, TensorType::IQ4_XS};

using test::random_vec;

// Random bytes for a weight of `type` whose blocks decode to finite values: f32/f16/bf16 are
// encoded from random floats, block formats get random bytes with sane f16 scales (the kernels
// only ever dequantize, so any valid block is a fair input).
inline std::vector<uint8_t> random_weight(TensorType type, int64_t rows, int64_t cols,
                                          uint32_t seed) {
  const auto& tr = traits(type);
  const size_t bytes = size_t(*tensor_bytes(type, uint64_t(rows * cols)));
  std::vector<uint8_t> out(bytes);
  std::mt19937 rng(seed);
  if (type == TensorType::F32) {
    auto v = random_vec(size_t(rows * cols), seed);
    std::memcpy(out.data(), v.data(), bytes);
    return out;
  }
  if (can_quantize(type)) {
    auto v = random_vec(size_t(rows * cols), seed);
    EXPECT_TRUE(quantize_row(type, v.data(), out.data(), rows * cols).ok());
    return out;
  }
  for (auto& b : out) b = uint8_t(rng());
  if (type == TensorType::F16 || type == TensorType::BF16) {
    // keep exponents moderate: clear the top exponent bits of each element
    for (size_t i = 1; i < out.size(); i += 2) out[i] &= type == TensorType::F16 ? 0xBB : 0xBF;
    return out;
  }
  // Block formats: the first bytes of each block hold f16 scale(s) for Q4_0/Q8_0/Q4_1/Q5_x; the
  // K-quants keep theirs elsewhere. Rather than patching layouts, reject non-finite decodes.
  std::vector<float> tmp(tr.block_size);
  for (size_t b = 0; b < bytes / tr.type_size; ++b) {
    uint8_t* blk = out.data() + b * tr.type_size;
    for (int attempt = 0; attempt < 100; ++attempt) {
      EXPECT_TRUE(dequantize_row(type, blk, tmp.data(), tr.block_size).ok());
      bool finite = true;
      for (float x : tmp) finite = finite && std::isfinite(x) && std::fabs(x) < 1e6f;
      if (finite) break;
      for (size_t i = 0; i < tr.type_size; ++i) blk[i] = uint8_t(rng() & 0x3B);
    }
  }
  return out;
}

}  // namespace whale
