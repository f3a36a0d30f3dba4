// Per-block dequantizers of the K-quant formats (256-element super-blocks). Internal to the
// quant layer: callers use dequantize_row().
#pragma once

#include <cstdint>

namespace whale::quant_detail {

void dequant_q2_k(const uint8_t* block, float* y);
void dequant_q3_k(const uint8_t* block, float* y);
void dequant_q4_k(const uint8_t* block, float* y);
void dequant_q5_k(const uint8_t* block, float* y);
void dequant_q6_k(const uint8_t* block, float* y);
void dequant_q8_k(const uint8_t* block, float* y);

}  // namespace whale::quant_detail
