// Per-block K-quant quantizers (256-element super-blocks). Internal to the quant layer:
// callers use quantize_row().
#pragma once

#include <cstdint>

namespace whale::quant_detail {

void quant_q4_k(const float* x, uint8_t* block);
void quant_q5_k(const float* x, uint8_t* block);
void quant_q6_k(const float* x, uint8_t* block);

}  // namespace whale::quant_detail
