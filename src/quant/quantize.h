// Quantizers: f32 -> tensor bytes.
// F32/F16/BF16 are conversions (round to nearest even). Q8_0 and Q4_0 reproduce llama.cpp's
// reference quantizers bit for bit (same rounding rules, same fp16 scale), so files whale
// writes match files llama.cpp writes. Q4_K and Q6_K use whale's own scale search (see
// quantize_k.cpp): they decode with the standard dequantizers and reach an error at least as low
// as llama.cpp's reference quantizer on Gaussian data. Q5_0 is available as a fallback type.
#pragma once

#include <cstdint>

#include "platform/result.h"
#include "quant/types.h"

namespace whale {

// True for the types quantize_row accepts.
bool can_quantize(TensorType t);

// Quantizes n values (n a multiple of t's block size). Non-finite inputs (NaN, inf) are
// rejected with an Error: they would silently poison a whole block's scale.
Status quantize_row(TensorType t, const float* src, void* dst, int64_t n);

// n_rows rows of row_length values each, stored contiguously; dst receives the rows back to
// back (row_length must be a multiple of t's block size). Rows are spread over n_threads
// threads (0 = all hardware threads); the result does not depend on the thread count.
Status quantize_rows(TensorType t, const float* src, void* dst, int64_t n_rows, int64_t row_length,
                     int n_threads = 1);

}  // namespace whale
