// Pieces of the forward pass every family shares: embedding lookup, the SwiGLU MLP and the final
// norm + output projection.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/kernels.h"

namespace whale {

// x[i] = row tokens[i] of the embedding table ([vocab x hidden]).
void embed_tokens(const MatrixView& table, std::span<const int32_t> tokens, float* x);

// A SiLU-gated MLP on n rows: out = down(silu(gate x) * up x). gate_buf/up_buf hold
// n * gate.rows floats.
struct MlpWeights {
  MatrixView gate;  // [inter, hidden]
  MatrixView up;    // [inter, hidden]
  MatrixView down;  // [hidden, inter]
};
void swiglu_mlp(const MlpWeights& w, const float* x, int64_t n, float* gate_buf, float* up_buf,
                float* out);

// logits[j] = output(rms_norm(x[rows[j]])) for the wanted rows; gathered holds
// rows.size() * hidden floats.
void output_logits(const float* x, int64_t hidden, const float* norm, double eps,
                   const MatrixView& output, std::span<const int32_t> rows, float* gathered,
                   float* logits);

}  // namespace whale
