// The fast products: pick the kernel for the weight type, split rows across the thread pool.
//
//   Q8_0 Q4_0 Q5_0 Q4_K Q6_K  activations quantized once per call (per token, 8 bits per
//                             32-block), integer dot products per row (simd::matvec_q8)
//   F32 F16 BF16              f32 activations, weights widened on load: one token
//                             simd::matvec_float, several tokens gemm_float_weights
//   other block types         each row dequantized to f32 by the reference dequantizer, then
//                             SIMD f32 dots (rare types: Q4_1, Q5_1, Q2_K, Q3_K, Q5_K)
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_float_weights.h"
#include "kernels/kernels.h"
#include "kernels/scratch.h"
#include "kernels/simd_kernels.h"
#include "platform/thread_pool.h"
#include "quant/dequantize.h"

namespace whale {

namespace {

// The calling thread's quantized copy of the activations (read by every worker of the call).
struct Q8Scratch {
  std::vector<int8_t> q;
  std::vector<float> d, sum;
  std::vector<uint8_t> packed, block_lanes, half_lanes;
};

// Below this many tokens the activations are quantized by the calling thread alone.
constexpr int64_t kMinParallelQuantize = 16;

// need_block / need_half: the products read 32- / 16-element lanes (simd::lane_elems_of).
// Tokens are independent, so with a pool they are quantized and rearranged in slices by all
// threads (prefill: ~5% of the time when the caller did it alone while the others waited).
simd::Q8Rows quantize_activations(const float* x, int64_t n_tok, int64_t cols, bool need_block,
                                  bool need_half, ThreadPool* pool) {
  thread_local Q8Scratch s;
  const size_t n = size_t(n_tok * cols), nb = n / 32;
  int8_t* q = grow_scratch(s.q, n);
  float* d = grow_scratch(s.d, nb);
  float* sum = grow_scratch(s.sum, nb);
  // Targets without the lane layouts report 0 bytes for both; the products then read packed.
  const size_t block_bytes = need_block ? simd::q8_lane_bytes(n_tok, cols, 32) : 0;
  const size_t half_bytes = need_half ? simd::q8_lane_bytes(n_tok, cols, 16) : 0;
  const size_t packed_bytes = block_bytes + half_bytes > 0 ? 0 : simd::q8_packed_bytes(n_tok, cols);
  uint8_t* packed = packed_bytes > 0 ? grow_scratch(s.packed, packed_bytes) : nullptr;
  uint8_t* block_lanes = block_bytes > 0 ? grow_aligned(s.block_lanes, block_bytes) : nullptr;
  uint8_t* half_lanes = half_bytes > 0 ? grow_aligned(s.half_lanes, half_bytes) : nullptr;
  const int64_t bpr = cols / 32;  // scale blocks per row
  auto slice = [&](size_t begin, size_t end, int) {
    const int64_t t = int64_t(begin), rows = int64_t(end - begin);
    // token t's place in a layout of `bytes` for all n_tok tokens
    const auto at = [&](uint8_t* p, size_t bytes) { return p + t * int64_t(bytes) / n_tok; };
    simd::quantize_q8(x + t * cols, rows, cols, q + t * cols, d + t * bpr, sum + t * bpr,
                      packed ? at(packed, packed_bytes) : nullptr);
    const simd::Q8Rows part{q + t * cols, d + t * bpr, sum + t * bpr, cols};
    if (block_lanes) simd::pack_q8_lanes(part, rows, 32, at(block_lanes, block_bytes));
    if (half_lanes) simd::pack_q8_lanes(part, rows, 16, at(half_lanes, half_bytes));
  };
  if (pool && pool->size() > 1 && n_tok >= kMinParallelQuantize)
    pool->parallel_for(size_t(n_tok), slice);
  else
    slice(0, size_t(n_tok), 0);
  simd::Q8Rows r{q, d, sum, cols, packed, int64_t(packed_bytes) / n_tok};
  r.block_lanes = block_lanes;
  r.half_lanes = half_lanes;
  return r;
}

// Rows [begin, end) of w times every token, for the types without a dedicated kernel.
void matvec_dequantized(const MatrixView& w, int64_t begin, int64_t end, const float* x,
                        int64_t n_tok, float* y) {
  thread_local std::vector<float> row_buf;
  float* row = grow_scratch(row_buf, size_t(w.cols));
  for (int64_t r = begin; r < end; ++r) {
    Status st = dequantize_row(w.type, w.data + size_t(r) * w.row_stride_bytes, row, w.cols);
    WHALE_CHECK(st.ok(), "dequantize_row failed on a validated matrix view");
    for (int64_t t = 0; t < n_tok; ++t) y[t * w.rows + r] = simd::dot(row, x + t * w.cols, w.cols);
  }
}

// Rows [begin, end) of w times several tokens, for the rare block types (and float weights on
// targets without gemm_float_weights' tiles): blocks of rows widened to f32 once (F32 rows are
// used in place), then one register-tiled f32 product with all the tokens (gemm_f32.h), instead
// of widening every row again for every token.
constexpr int64_t kWidenedRows = 16;
void matmul_widened(const MatrixView& w, int64_t begin, int64_t end, const float* x, int64_t n_tok,
                    float* y) {
  thread_local std::vector<float> block_buf;
  float* block = grow_scratch(block_buf, size_t(kWidenedRows * w.cols));
  for (int64_t r0 = begin; r0 < end; r0 += kWidenedRows) {
    const int64_t rows = std::min(kWidenedRows, end - r0);
    const float* rows_f32 = block;
    int64_t stride = w.cols;
    if (w.type == TensorType::F32) {
      rows_f32 = reinterpret_cast<const float*>(w.data + size_t(r0) * w.row_stride_bytes);
      stride = int64_t(w.row_stride_bytes / sizeof(float));
    } else if (w.type == TensorType::F16 || w.type == TensorType::BF16) {
      for (int64_t r = 0; r < rows; ++r)
        widen_half_to_f32(w.data + size_t(r0 + r) * w.row_stride_bytes, w.type == TensorType::BF16,
                          block + r * w.cols, w.cols);
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        Status st = dequantize_row(w.type, w.data + size_t(r0 + r) * w.row_stride_bytes,
                                   block + r * w.cols, w.cols);
        WHALE_CHECK(st.ok(), "dequantize_row failed on a validated matrix view");
      }
    }
    gemm_f32_abt(n_tok, rows, w.cols, x, w.cols, rows_f32, stride, y + r0, w.rows, 1.0f);
  }
}

// Rows [begin, end) of one product, with the kernel of its weight type.
void run_rows(const MatrixView& w, int64_t begin, int64_t end, const float* x,
              const simd::Q8Rows& q8, int64_t n_tok, float* y) {
  const simd::RowRange r{w.type, w.data, w.row_stride_bytes, w.cols, begin, end};
  if (simd::has_q8_kernel(w.type)) {
    simd::matvec_q8(r, q8, n_tok, y, w.rows);
  } else if (n_tok >= 2 && (w.type != TensorType::F32 || w.row_stride_bytes % sizeof(float) == 0)) {
    const uint8_t* first_row = w.data + size_t(begin) * w.row_stride_bytes;
    if (!gemm_float_weights(w.type, first_row, w.row_stride_bytes, end - begin, w.cols, x, w.cols,
                            n_tok, y + begin, w.rows))
      matmul_widened(w, begin, end, x, n_tok, y);
  } else if (simd::has_float_kernel(w.type)) {
    simd::matvec_float(r, x, n_tok, y, w.rows);
  } else {
    matvec_dequantized(w, begin, end, x, n_tok, y);
  }
}

// Below this many multiply-adds a call is not worth waking the other threads for.
constexpr int64_t kMinParallelWork = 1 << 15;

}  // namespace

void matmul_shared_input(std::span<const MatmulPart> parts, const float* x, int64_t n_tok,
                         ThreadPool* pool) {
  if (n_tok <= 0 || parts.empty()) return;
  const int64_t cols = parts[0].w->cols;
  int64_t total_rows = 0;
  bool need_q8 = false, need_block = false, need_half = false;
  for (const MatmulPart& p : parts) {
    WHALE_CHECK(p.w->cols == cols, "matmul_shared_input: matrices differ in input width");
    total_rows += p.w->rows;
    need_q8 = need_q8 || simd::has_q8_kernel(p.w->type);
    const int lane_elems = n_tok >= simd::kLaneMinTokens ? simd::lane_elems_of(p.w->type) : 0;
    need_block = need_block || lane_elems == 32;
    need_half = need_half || lane_elems == 16;
  }
  const simd::Q8Rows q8 =
      need_q8 ? quantize_activations(x, n_tok, cols, need_block, need_half, pool) : simd::Q8Rows{};
  // The parts' rows are numbered one after the other; a thread's block may span several parts.
  auto body = [&](size_t begin, size_t end, int) {
    int64_t first = 0;
    for (const MatmulPart& p : parts) {
      const int64_t lo = std::max<int64_t>(int64_t(begin), first);
      const int64_t hi = std::min<int64_t>(int64_t(end), first + p.w->rows);
      if (lo < hi) run_rows(*p.w, lo - first, hi - first, x, q8, n_tok, p.y);
      first += p.w->rows;
    }
  };
  if (pool && pool->size() > 1 && total_rows * cols * n_tok >= kMinParallelWork)
    pool->parallel_for(size_t(total_rows), body);
  else
    body(0, size_t(total_rows), 0);
}

void matmul(const MatrixView& w, const float* x, int64_t n_tok, float* y, ThreadPool* pool) {
  const MatmulPart part{&w, y};
  matmul_shared_input(std::span<const MatmulPart>(&part, 1), x, n_tok, pool);
}

void matmul_transposed(const MatrixView& w, const float* x, int64_t n_tok, float* y) {
  thread_local std::vector<float> row_buf;
  float* row = grow_scratch(row_buf, size_t(w.cols));
  for (int64_t i = 0; i < n_tok * w.cols; ++i) y[i] = 0.0f;
  for (int64_t r = 0; r < w.rows; ++r) {
    matrix_row(w, r, row);
    for (int64_t t = 0; t < n_tok; ++t) simd::axpy(x[t * w.rows + r], row, y + t * w.cols, w.cols);
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  return simd::dot(a, b, n);
}

void axpy(float a, const float* x, float* y, int64_t n) {
  simd::axpy(a, x, y, n);
}

void softmax_f32(float* x, int64_t n) {
  if (n <= 0) return;
  // One block of attention's online softmax from an empty state, then the normalization.
  float max = -std::numeric_limits<float>::infinity(), sum = 0.0f;
  online_softmax_block(x, n, n, &max, &sum);
  scale_f32(x, n, 1.0f / sum);
}

const char* kernel_target_name() {
  return simd::active_target_name();
}

bool cap_kernel_target(const char* name) {
  return simd::cap_target(name);
}

std::string compiled_kernel_targets() {
  return simd::compiled_target_names();
}

}  // namespace whale
