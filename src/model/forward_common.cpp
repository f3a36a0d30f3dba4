#include "model/forward_common.h"

#include <cstring>

#include "model/weight_source.h"
#include "platform/thread_pool.h"

namespace whale {

void embed_tokens(const MatrixView& table, std::span<const int32_t> tokens, float* x) {
  for (size_t i = 0; i < tokens.size(); ++i) matrix_row(table, tokens[i], x + i * table.cols);
}

Result<MlpWeights> load_mlp(WeightSource& s, const std::string& prefix, const std::string& suffix,
                            int64_t hidden, int64_t inter) {
  MlpWeights m;
  WHALE_LOAD(m.gate, s.matrix(prefix + "ffn_gate" + suffix + ".weight", {hidden, inter}));
  WHALE_LOAD(m.up, s.matrix(prefix + "ffn_up" + suffix + ".weight", {hidden, inter}));
  WHALE_LOAD(m.down, s.matrix(prefix + "ffn_down" + suffix + ".weight", {inter, hidden}));
  return m;
}

Result<MatrixView> load_output_head(WeightSource& s, const MatrixView& token_embd, int64_t hidden,
                                    int64_t vocab) {
  if (s.has("output.weight")) return s.matrix("output.weight", {hidden, vocab});
  if (s.config().tie_word_embeddings) return token_embd;
  return make_error("no output.weight (lm_head) and tie_word_embeddings is false");
}

void swiglu_mlp(const MlpWeights& w, const float* x, int64_t n, float* gate_buf, float* up_buf,
                float* out, ThreadPool* pool) {
  const MatmulPart gate_up[] = {{&w.gate, gate_buf}, {&w.up, up_buf}};
  matmul_shared_input(gate_up, x, n, pool);
  silu_mul(gate_buf, up_buf, n * w.gate.rows);
  matmul(w.down, gate_buf, n, out, pool);
}

int64_t group_by_sequence(std::span<const int32_t> seq_ids, int32_t* seq_toks, int32_t* spans) {
  const int64_t n = int64_t(seq_ids.size());
  int64_t n_grouped = 0, n_seqs = 0;
  for (int64_t t0 = 0; t0 < n; ++t0) {
    bool seen = false;
    for (int64_t t = 0; t < t0 && !seen; ++t) seen = seq_ids[t] == seq_ids[t0];
    if (seen) continue;
    spans[2 * n_seqs] = int32_t(n_grouped);
    for (int64_t t = t0; t < n; ++t)
      if (seq_ids[t] == seq_ids[t0]) seq_toks[n_grouped++] = int32_t(t);
    spans[2 * n_seqs + 1] = int32_t(n_grouped) - spans[2 * n_seqs];
    ++n_seqs;
  }
  return n_seqs;
}

int thread_count(const ThreadPool* pool) {
  return pool ? pool->size() : 1;
}

void output_logits(const float* x, int64_t hidden, const float* norm, double eps,
                   const MatrixView& output, std::span<const int32_t> rows, float* gathered,
                   float* logits, ThreadPool* pool) {
  if (rows.empty()) return;
  for (size_t j = 0; j < rows.size(); ++j)
    std::memcpy(gathered + j * hidden, x + rows[j] * hidden, size_t(hidden) * sizeof(float));
  const int64_t n = int64_t(rows.size());
  rms_norm(gathered, norm, n, hidden, eps, gathered);
  matmul(output, gathered, n, logits, pool);
}

}  // namespace whale
