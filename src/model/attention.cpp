#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_f32.h"
#include "kernels/kernels.h"

namespace whale {

int64_t RowSource::run_length(int64_t j, int64_t max) const {
  if (!cache) return max;
  const char* first = static_cast<const char*>(row(j));
  const int64_t row_bytes = stride * value_bytes();
  int64_t n = 1;
  while (n < max && row(j + n) == first + n * row_bytes) ++n;
  return n;
}

void RowSource::read(int64_t j, float* dst, int64_t n) const {
  if (cache)
    cache->load(layer, j, column, dst, n, offset);
  else
    std::memcpy(dst, row(j), size_t(n) * sizeof(float));
}

namespace {

// The query rows as the products take them: f32, or for a bf16 cache rounded to bf16 once per
// call (gemm_bf16.h computes its scores in bf16), in this thread's scratch (dk apart).
struct QueryRows {
  const float* f32 = nullptr;
  int64_t ldq = 0;
  const uint16_t* bf16 = nullptr;

  QueryRows(const float* q, int64_t ld, int64_t n_rows, int64_t dk, KvType keys) : f32(q), ldq(ld) {
    if (keys != KvType::kBF16) return;
    thread_local std::vector<uint16_t> rounded;
    if (rounded.size() < size_t(n_rows * dk)) rounded.resize(size_t(n_rows * dk));
    for (int64_t r = 0; r < n_rows; ++r) round_to_bf16(q + r * ld, dk, rounded.data() + r * dk);
    bf16 = rounded.data();
  }
};

// scores[., 0..run) = scale * q . key rows [i, i + run), keys in f32, f16 or bf16.
void key_scores(int64_t n_rows, int64_t run, int64_t dk, const QueryRows& q, const RowSource& keys,
                int64_t i, float* scores, int64_t lds, float scale) {
  const void* rows = keys.row(i);
  switch (keys.type()) {
    case KvType::kF16:
      return gemm_f32_abt_f16(n_rows, run, dk, q.f32, q.ldq, static_cast<const uint16_t*>(rows),
                              keys.stride, scores, lds, scale);
    case KvType::kBF16:
      return gemm_bf16_abt(n_rows, run, dk, q.bf16, dk, static_cast<const uint16_t*>(rows),
                           keys.stride, scores, lds, scale);
    case KvType::kF32:
      return gemm_f32_abt(n_rows, run, dk, q.f32, q.ldq, static_cast<const float*>(rows),
                          keys.stride, scores, lds, scale);
  }
}

// out[., 0..dv) += p[., 0..run) x value rows [i, i + run).
void add_values(int64_t n_rows, int64_t dv, int64_t run, const float* p, int64_t ldp,
                const RowSource& values, int64_t i, float* out, int64_t ldo) {
  const void* rows = values.row(i);
  switch (values.type()) {
    case KvType::kF16:
      return gemm_f32_ab_acc_f16(n_rows, dv, run, p, ldp, static_cast<const uint16_t*>(rows),
                                 values.stride, out, ldo);
    case KvType::kBF16:
      return gemm_bf16_ab_acc(n_rows, dv, run, p, ldp, static_cast<const uint16_t*>(rows),
                              values.stride, out, ldo);
    case KvType::kF32:
      return gemm_f32_ab_acc(n_rows, dv, run, p, ldp, static_cast<const float*>(rows),
                             values.stride, out, ldo);
  }
}

}  // namespace

void attend_rows_partial(const float* q, int64_t ldq, int64_t n_rows, const int32_t* len,
                         int64_t dk, int64_t dv, const RowSource& keys, const RowSource& values,
                         float scale, int64_t key_begin, int64_t key_end, float* out, int64_t ldo,
                         float* row_max, float* row_sum, float* scratch) {
  const QueryRows queries(q, ldq, n_rows, dk, keys.type());
  for (int64_t r = 0; r < n_rows; ++r) {
    row_max[r] = -std::numeric_limits<float>::infinity();
    row_sum[r] = 0.0f;
    std::fill(out + r * ldo, out + r * ldo + dv, 0.0f);
  }
  // Blocks are fixed by key index (kAttendKeyBlock keys from key_begin), never by where the
  // rows live: a block spanning several runs (cache pages) is multiplied run by run into the
  // same score columns and summed in key order, so a paged cache gives bitwise the result of a
  // contiguous one (every score element and every value sum is computed the same way).
  for (int64_t j = key_begin; j < key_end;) {
    const int64_t nb = std::min(kAttendKeyBlock, key_end - j);
    for (int64_t i = j; i < j + nb;) {
      const int64_t run = keys.run_length(i, j + nb - i);
      key_scores(n_rows, run, dk, queries, keys, i, scratch + (i - j), nb, scale);
      i += run;
    }
    // The next block's rows, on their way from memory while this block's values are summed.
    const int64_t next_end = std::min(key_end, j + nb + kAttendKeyBlock);
    const bool same_rows = values.row(j) == keys.row(j) && dv <= dk;  // MLA: the latent
    for (int64_t jn = j + nb; jn < next_end; ++jn) {
      prefetch_bytes(keys.row(jn), dk * keys.value_bytes());
      if (!same_rows) prefetch_bytes(values.row(jn), dv * values.value_bytes());
    }
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t valid = std::clamp<int64_t>(len[r] - j, 0, nb);
      const float factor =
          online_softmax_block(scratch + r * nb, valid, nb, row_max + r, row_sum + r);
      if (factor != 1.0f) scale_f32(out + r * ldo, dv, factor);
    }
    for (int64_t i = j; i < j + nb;) {
      const int64_t run = values.run_length(i, j + nb - i);
      add_values(n_rows, dv, run, scratch + (i - j), nb, values, i, out, ldo);
      i += run;
    }
    j += nb;
  }
}

void merge_attention_parts(int64_t n_parts, int64_t n_rows, int64_t dv, const float* outs,
                           int64_t part_stride, int64_t ldo, const float* maxes, const float* sums,
                           int64_t state_stride, float* dst, int64_t ld_dst) {
  for (int64_t r = 0; r < n_rows; ++r) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t p = 0; p < n_parts; ++p) mx = std::max(mx, maxes[p * state_stride + r]);
    float* d = dst + r * ld_dst;
    std::fill(d, d + dv, 0.0f);
    double total = 0.0;
    for (int64_t p = 0; p < n_parts; ++p) {
      const float sum = sums[p * state_stride + r];
      if (sum == 0.0f) continue;  // no keys of this row in part p
      const float w = std::exp(maxes[p * state_stride + r] - mx);
      total += double(w) * sum;
      const float* o = outs + p * part_stride + r * ldo;
      for (int64_t i = 0; i < dv; ++i) d[i] += w * o[i];
    }
    scale_f32(d, dv, float(1.0 / total));
  }
}

void attend_rows(const float* q, int64_t ldq, int64_t n_rows, const int32_t* len, int64_t dk,
                 int64_t dv, const RowSource& keys, const RowSource& values, float scale,
                 float* out, int64_t ldo, float* scratch) {
  if (n_rows <= 0) return;
  const int64_t n_keys = *std::max_element(len, len + n_rows);
  float* row_max = scratch + n_rows * kAttendKeyBlock;
  float* row_sum = row_max + n_rows;
  attend_rows_partial(q, ldq, n_rows, len, dk, dv, keys, values, scale, 0, n_keys, out, ldo,
                      row_max, row_sum, scratch);
  for (int64_t r = 0; r < n_rows; ++r) scale_f32(out + r * ldo, dv, 1.0f / row_sum[r]);
}

}  // namespace whale
