// The fast products: pick the kernel for the weight type, split rows across the thread pool.
//
//   Q8_0 Q4_0 Q5_0 Q4_K Q6_K  activations quantized once per call (per token, 8 bits per
//                             32-block), integer dot products per row (simd::matvec_q8)
//   F32 F16 BF16              f32 activations, weights widened on load (simd::matvec_float)
//   other block types         each row dequantized to f32 by the reference dequantizer, then
//                             SIMD f32 dots (rare types: Q4_1, Q5_1, Q2_K, Q3_K, Q5_K)
#include <vector>

#include "kernels/kernels.h"
#include "kernels/simd_kernels.h"
#include "platform/thread_pool.h"
#include "quant/dequantize.h"

namespace whale {

namespace {

// Scratch that only grows, per thread: after the largest shape has been seen once, products
// allocate nothing (STYLE.md 11).
template <typename T>
T* grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// The calling thread's quantized copy of the activations (read by every worker of the call).
struct Q8Scratch {
  std::vector<int8_t> q;
  std::vector<float> d, sum;
};

simd::Q8Rows quantize_activations(const float* x, int64_t n_tok, int64_t cols) {
  thread_local Q8Scratch s;
  const size_t n = size_t(n_tok * cols), nb = n / 32;
  int8_t* q = grow(s.q, n);
  float* d = grow(s.d, nb);
  float* sum = grow(s.sum, nb);
  simd::quantize_q8(x, n_tok, cols, q, d, sum);
  return simd::Q8Rows{q, d, sum, cols};
}

// Rows [begin, end) of w times every token, for the types without a dedicated kernel.
void matvec_dequantized(const MatrixView& w, int64_t begin, int64_t end, const float* x,
                        int64_t n_tok, float* y) {
  thread_local std::vector<float> row_buf;
  float* row = grow(row_buf, size_t(w.cols));
  for (int64_t r = begin; r < end; ++r) {
    Status st = dequantize_row(w.type, w.data + size_t(r) * w.row_stride_bytes, row, w.cols);
    WHALE_CHECK(st.ok(), "dequantize_row failed on a validated matrix view");
    for (int64_t t = 0; t < n_tok; ++t) y[t * w.rows + r] = simd::dot(row, x + t * w.cols, w.cols);
  }
}

// Below this many multiply-adds a call is not worth waking the other threads for.
constexpr int64_t kMinParallelWork = 1 << 15;

template <typename Body>
void for_rows(ThreadPool* pool, const MatrixView& w, int64_t n_tok, Body&& body) {
  if (pool && pool->size() > 1 && w.rows * w.cols * n_tok >= kMinParallelWork) {
    pool->parallel_for(size_t(w.rows),
                       [&](size_t begin, size_t end, int) { body(int64_t(begin), int64_t(end)); });
  } else {
    body(0, w.rows);
  }
}

}  // namespace

void matmul(const MatrixView& w, const float* x, int64_t n_tok, float* y, ThreadPool* pool) {
  if (n_tok <= 0) return;
  simd::RowRange range{w.type, w.data, w.row_stride_bytes, w.cols, 0, 0};
  if (simd::has_q8_kernel(w.type)) {
    const simd::Q8Rows q8 = quantize_activations(x, n_tok, w.cols);
    for_rows(pool, w, n_tok, [&](int64_t begin, int64_t end) {
      simd::RowRange r = range;
      r.row_begin = begin;
      r.row_end = end;
      simd::matvec_q8(r, q8, n_tok, y, w.rows);
    });
  } else if (simd::has_float_kernel(w.type)) {
    for_rows(pool, w, n_tok, [&](int64_t begin, int64_t end) {
      simd::RowRange r = range;
      r.row_begin = begin;
      r.row_end = end;
      simd::matvec_float(r, x, n_tok, y, w.rows);
    });
  } else {
    for_rows(pool, w, n_tok,
             [&](int64_t begin, int64_t end) { matvec_dequantized(w, begin, end, x, n_tok, y); });
  }
}

void matmul_transposed(const MatrixView& w, const float* x, int64_t n_tok, float* y) {
  thread_local std::vector<float> row_buf;
  float* row = grow(row_buf, size_t(w.cols));
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
  if (n > 0) simd::softmax(x, n);
}

const char* kernel_target_name() {
  return simd::active_target_name();
}

}  // namespace whale
