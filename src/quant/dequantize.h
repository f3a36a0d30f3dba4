// Reference dequantizers: tensor bytes -> f32, written from ggml's published block layouts.
// Scalar and plain on purpose (they define the meaning of each format; fast kernels are tested
// against them). Results are bit-identical to llama.cpp's own dequantizers.
#pragma once

#include <cstdint>

#include "platform/result.h"
#include "quant/types.h"

namespace whale {

// True for the types dequantize_row accepts: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
bool can_dequantize(TensorType t);

// Converts n elements (a whole number of blocks of t) starting at src into dst.
Status dequantize_row(TensorType t, const void* src, float* dst, int64_t n);

}  // namespace whale
