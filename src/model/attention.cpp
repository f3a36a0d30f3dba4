#include "model/attention.h"

#include <algorithm>

#include "kernels/gemm_f32.h"
#include "kernels/kernels.h"

namespace whale {

int64_t RowSource::run_length(int64_t j, int64_t max) const {
  if (!cache) return max;
  const float* first = row(j);
  int64_t n = 1;
  while (n < max && row(j + n) == first + n * stride) ++n;
  return n;
}

void attend_rows(const float* q, int64_t ldq, int64_t n_rows, const int32_t* len, int64_t dk,
                 int64_t dv, const RowSource& keys, const RowSource& values, float scale,
                 float* out, int64_t ldo, float* scores) {
  if (n_rows <= 0) return;
  const int64_t n_keys = *std::max_element(len, len + n_rows);
  // Scores of every row against keys [0, n_keys), one product per run of contiguous key rows.
  for (int64_t j = 0; j < n_keys;) {
    const int64_t run = keys.run_length(j, n_keys - j);
    gemm_f32_abt(n_rows, run, dk, q, ldq, keys.row(j), keys.stride, scores + j, n_keys, scale);
    j += run;
  }
  // Each row's own causal prefix; the keys past it get weight 0 in the value product.
  for (int64_t r = 0; r < n_rows; ++r) {
    float* s = scores + r * n_keys;
    softmax_f32(s, len[r]);
    std::fill(s + len[r], s + n_keys, 0.0f);
  }
  for (int64_t r = 0; r < n_rows; ++r) std::fill(out + r * ldo, out + r * ldo + dv, 0.0f);
  for (int64_t j = 0; j < n_keys;) {
    const int64_t run = values.run_length(j, n_keys - j);
    gemm_f32_ab_acc(n_rows, dv, run, scores + j, n_keys, values.row(j), values.stride, out, ldo);
    j += run;
  }
}

}  // namespace whale
