// Shapes of the attention product tests (gemm_f32_test, gemm_bf16_test): the 6-row tiles of
// AVX-512 and every leftover (GQA groups of 5, 6, 7; MLA's 16 heads), key and column tails,
// K not a multiple of the vector (odd, for the bf16 pairs), MLA's 576 and 512.
#pragma once

#include <cstdint>

namespace whale::test {

struct GemmShape {
  int64_t M, N, K;
};
inline constexpr GemmShape kGemmShapes[] = {
    {1, 1, 1},    {4, 4, 16},   {4, 4, 64},   {5, 7, 33},   {16, 37, 576}, {3, 130, 128},
    {17, 9, 192}, {8, 64, 512}, {2, 3, 15},   {6, 64, 128}, {7, 33, 128},  {13, 20, 64},
    {12, 5, 40},  {11, 66, 96}, {13, 20, 63}, {16, 512, 64}};

}  // namespace whale::test
