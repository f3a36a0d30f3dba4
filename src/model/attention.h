// Softmax attention of a block of query rows over one sequence's keys, as two dense products
// (scores = Q K^T, out = P V: kernels/gemm_f32.h) instead of one dot product per (query, key):
// every key row is loaded once per tile of query rows. The families call it with their own
// rows: llama/qwen2 a GQA group of heads over k/v in the cache, MLA's absorbed form all heads'
// [q_latent | q_pe] over the cache's [latent | k_pe] rows (the latent is also the value), MLA's
// expanded form per-head keys and values decompressed into scratch.
#pragma once

#include <cstdint>

#include "model/model.h"

namespace whale {

// Where row j of the keys (or values) lives: a layer of a sequence's KV cache, read in place
// (row = cache->at(layer, j) + offset), or a dense scratch matrix (row = base + j * stride +
// offset).
struct RowSource {
  const KvView* cache = nullptr;
  int64_t layer = 0;
  const float* base = nullptr;
  int64_t stride = 0;
  int64_t offset = 0;

  static RowSource in_cache(const KvView& cache, int64_t layer, int64_t offset) {
    return {&cache, layer, nullptr, cache.floats_per_token, offset};
  }
  static RowSource dense(const float* base, int64_t stride) {
    return {nullptr, 0, base, stride, 0};
  }

  const float* row(int64_t j) const {
    return (cache ? cache->at(layer, j) : base + j * stride) + offset;
  }
  // How many rows from j (at most max) lie `stride` floats apart in memory: a dense matrix is
  // one run; a cache is one run per block of contiguous positions (e.g. a page).
  int64_t run_length(int64_t j, int64_t max) const;
};

// out[r][0..dv) = sum_{j < len[r]} softmax_j(scale * q[r] . key(j)) * value(j), for r < n_rows.
// q rows are dk floats, ldq apart; out rows ldo apart. len[r] >= 1 (causal prefixes differ per
// row). scores: scratch of n_rows * max(len) floats.
void attend_rows(const float* q, int64_t ldq, int64_t n_rows, const int32_t* len, int64_t dk,
                 int64_t dv, const RowSource& keys, const RowSource& values, float scale,
                 float* out, int64_t ldo, float* scores);

}  // namespace whale
