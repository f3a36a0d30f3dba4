// Products of float weight rows (F32, F16 or BF16, read in place from the mmap) with several f32
// token rows: the server's decode batch and prefill on f16/bf16/f32 models. Register tiles of 4
// tokens x 4 rows convert each weight vector once in registers (no widened copy of the weights)
// and feed 4 multiply-adds per load; the 16 sums of a tile are reduced together (interleaves
// within 128-bit blocks, then one add per block), about a third of the work of 16 separate
// horizontal sums, which dominated at the model widths of 64-256 where a tile's K loop is short.
//
// Every output is summed in the same order whatever tile it falls in (one multiply-add chain per
// lane, the same reduction tree), so a row's result does not depend on how rows are split
// between threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace whale {

// y[t * ldy + r] = sum_{k < K} W[r][k] * x[t * ldx + k]   for t < n_tok, r < n_rows, where row r
// of W holds K elements of `type` at w + r * row_stride bytes. Returns false (and writes nothing)
// when the CPU's target has no tiled kernel or the type is not F32/F16/BF16: the caller then
// uses another product.
bool gemm_float_weights(TensorType type, const uint8_t* w, size_t row_stride, int64_t n_rows,
                        int64_t K, const float* x, int64_t ldx, int64_t n_tok, float* y,
                        int64_t ldy);

// The same with f64 accumulation: the oracle of the tests.
void gemm_float_weights_reference(TensorType type, const uint8_t* w, size_t row_stride,
                                  int64_t n_rows, int64_t K, const float* x, int64_t ldx,
                                  int64_t n_tok, float* y, int64_t ldy);

}  // namespace whale
