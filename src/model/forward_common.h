// Pieces of the forward pass every family shares: embedding lookup, the SwiGLU MLP and the final
// norm + output projection.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "kernels/kernels.h"
#include "platform/result.h"
#include "platform/thread_pool.h"

namespace whale {

class WeightSource;

// x[i] = row tokens[i] of the embedding table ([vocab x hidden]).
void embed_tokens(const MatrixView& table, std::span<const int32_t> tokens, float* x);

// A SiLU-gated MLP on n rows: out = down(silu(gate x) * up x). gate_buf/up_buf hold
// n * gate.rows floats.
struct MlpWeights {
  MatrixView gate;  // [inter, hidden]
  MatrixView up;    // [inter, hidden]
  MatrixView down;  // [hidden, inter]
};
// The MLP weights {prefix}ffn_{gate,up,down}{suffix}.weight of a [hidden -> inter] MLP.
Result<MlpWeights> load_mlp(WeightSource& s, const std::string& prefix, const std::string& suffix,
                            int64_t hidden, int64_t inter);
void swiglu_mlp(const MlpWeights& w, const float* x, int64_t n, float* gate_buf, float* up_buf,
                float* out, ThreadPool* pool);

// logits[j] = output(rms_norm(x[rows[j]])) for the wanted rows; gathered holds
// rows.size() * hidden floats.
void output_logits(const float* x, int64_t hidden, const float* norm, double eps,
                   const MatrixView& output, std::span<const int32_t> rows, float* gathered,
                   float* logits, ThreadPool* pool);

// The output projection [vocab x hidden]: output.weight, else the embedding table when the
// config ties them, else an Error.
Result<MatrixView> load_output_head(WeightSource& s, const MatrixView& token_embd, int64_t hidden,
                                    int64_t vocab);

// The batch's tokens grouped by sequence, sequences in first-appearance order: seq_toks receives
// all n batch indices, spans a (first, count) pair per sequence indexing seq_toks. Returns the
// number of sequences. Attention runs per sequence, since each has its own cache.
int64_t group_by_sequence(std::span<const int32_t> seq_ids, int32_t* seq_toks, int32_t* spans);

// Threads available to a body of `pool` (1 without a pool): the number of per-thread scratch
// copies a parallel loop needs.
int thread_count(const ThreadPool* pool);

// pool->parallel_for(n, body), or body(0, n, 0) on this thread without a pool.
template <typename Body>
void parallel_or_inline(ThreadPool* pool, size_t n, Body&& body) {
  if (pool)
    pool->parallel_for(n, body);
  else if (n > 0)
    body(size_t(0), n, 0);
}

}  // namespace whale
