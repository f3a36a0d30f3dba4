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

// Where row j of the keys (or values) lives: a column of a layer of a sequence's KV cache, read
// in place (row = cache->cell(layer, j, column) + offset values; f32, f16 or bf16 as the cache
// stores them), or a dense f32 scratch matrix (row = base + j * stride + offset).
struct RowSource {
  const KvView* cache = nullptr;
  int64_t layer = 0;
  int64_t column = 0;
  const float* base = nullptr;
  int64_t stride = 0;  // values between rows
  int64_t offset = 0;  // values

  static RowSource in_cache(const KvView& cache, int64_t layer, int64_t column,
                            int64_t offset = 0) {
    return {&cache, layer, column, nullptr, cache.column_width, offset};
  }
  static RowSource dense(const float* base, int64_t stride) {
    return {nullptr, 0, 0, base, stride, 0};
  }

  // How the rows' values are stored (a dense matrix is f32).
  KvType type() const { return cache ? cache->type : KvType::kF32; }
  int64_t value_bytes() const { return cache ? cache->value_bytes() : int64_t(sizeof(float)); }
  const void* row(int64_t j) const {
    if (!cache) return base + j * stride + offset;
    return static_cast<const char*>(cache->cell(layer, j, column)) + offset * value_bytes();
  }
  // Row j's values [0, n) as f32.
  void read(int64_t j, float* dst, int64_t n) const;
  // How many rows from j (at most max) lie `stride` values apart in memory: a dense matrix is
  // one run; a cache is one run per block of contiguous positions (e.g. a page).
  int64_t run_length(int64_t j, int64_t max) const;
};

// Keys are taken kAttendKeyBlock rows at a time with an online softmax (running max and sum
// per row, kernels/gemm_f32.h online_softmax_block): each block's scores for every row, then
// its value product while the block's rows are still in L2, instead of two passes over all the
// keys (which streamed a long context from L3 or memory twice per tile of rows). 64 MLA rows
// [latent | k_pe] are 147 KB.
constexpr int64_t kAttendKeyBlock = 64;

// Floats of scratch attend_rows / attend_rows_partial need for n_rows query rows.
constexpr int64_t attend_scratch_floats(int64_t n_rows) {
  return n_rows * (kAttendKeyBlock + 2);
}

// out[r][0..dv) = sum_{j < len[r]} softmax_j(scale * q[r] . key(j)) * value(j), for r < n_rows.
// q rows are dk floats, ldq apart; out rows ldo apart. len[r] >= 1 (causal prefixes differ per
// row). scratch: attend_scratch_floats(n_rows) floats.
void attend_rows(const float* q, int64_t ldq, int64_t n_rows, const int32_t* len, int64_t dk,
                 int64_t dv, const RowSource& keys, const RowSource& values, float scale,
                 float* out, int64_t ldo, float* scratch);

// The part of attend_rows over keys [key_begin, key_end) only (each row still stops at len[r]),
// unnormalized, so that several threads can split one sequence's keys (flash-decoding):
//   row_max[r] = max_j s_rj, row_sum[r] = sum_j exp(s_rj - row_max[r]),
//   out[r] = sum_j exp(s_rj - row_max[r]) * value(j),   s_rj = scale * q[r] . key(j),
// j over the row's keys in the range; a row with none gets max -inf, sum 0, out 0.
// scratch: n_rows * kAttendKeyBlock floats.
void attend_rows_partial(const float* q, int64_t ldq, int64_t n_rows, const int32_t* len,
                         int64_t dk, int64_t dv, const RowSource& keys, const RowSource& values,
                         float scale, int64_t key_begin, int64_t key_end, float* out, int64_t ldo,
                         float* row_max, float* row_sum, float* scratch);

// Combines n_parts partials of the same n_rows rows (part p's row r: out at
// outs + p * part_stride + r * ldo, max and sum at maxes / sums[p * state_stride + r]) into the
// normalized attention output rows (dst + r * ld_dst). Every row must have a key in some part.
void merge_attention_parts(int64_t n_parts, int64_t n_rows, int64_t dv, const float* outs,
                           int64_t part_stride, int64_t ldo, const float* maxes, const float* sums,
                           int64_t state_stride, float* dst, int64_t ld_dst);

}  // namespace whale
