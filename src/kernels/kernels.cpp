#include "kernels/kernels.h"
#include "kernels/scratch.h"
#include "kernels/simd_kernels.h"

#include <cmath>
#include <limits>
#include <vector>

#include "quant/dequantize.h"

namespace whale {

namespace {

float* row_scratch(size_t n) {
  thread_local std::vector<float> buf;
  return grow_scratch(buf, n);
}

double* acc_scratch(size_t n) {
  thread_local std::vector<double> buf;
  return grow_scratch(buf, n);
}

// Dequantizes row r of w into `out` (cols floats). The view was validated when it was made, so a
// failure here is a broken invariant, not bad input.
void load_row(const MatrixView& w, int64_t r, float* out) {
  Status st = dequantize_row(w.type, w.data + size_t(r) * w.row_stride_bytes, out, w.cols);
  WHALE_CHECK(st.ok(), "dequantize_row failed on a validated matrix view");
}

}  // namespace

MatrixView MatrixView::row_slice(int64_t first, int64_t count) const {
  WHALE_CHECK(first >= 0 && count >= 0 && first + count <= rows, "row slice out of range");
  MatrixView v = *this;
  v.data = data + size_t(first) * row_stride_bytes;
  v.rows = count;
  return v;
}

Result<MatrixView> make_matrix_view(TensorType type, const void* data, int64_t rows, int64_t cols) {
  if (!can_dequantize(type))
    return make_error("tensor type %s cannot be used as a weight matrix",
                      std::string(traits(type).name).c_str());
  if (rows <= 0 || cols <= 0) return make_error("weight matrix has an empty dimension");
  auto row_bytes = tensor_bytes(type, uint64_t(cols));
  if (!row_bytes)
    return make_error("a row of %lld elements is not a whole number of %s blocks", (long long)cols,
                      std::string(traits(type).name).c_str());
  MatrixView v;
  v.type = type;
  v.data = static_cast<const uint8_t*>(data);
  v.rows = rows;
  v.cols = cols;
  v.row_stride_bytes = size_t(*row_bytes);
  return v;
}

void matrix_row(const MatrixView& w, int64_t r, float* out) {
  WHALE_CHECK(r >= 0 && r < w.rows, "matrix row out of range");
  load_row(w, r, out);
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

void matmul_reference(const MatrixView& w, const float* x, int64_t n_tok, float* y) {
  float* row = row_scratch(size_t(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    load_row(w, r, row);
    for (int64_t t = 0; t < n_tok; ++t) y[t * w.rows + r] = float(dot(row, x + t * w.cols, w.cols));
  }
}

void matmul_transposed_reference(const MatrixView& w, const float* x, int64_t n_tok, float* y) {
  float* row = row_scratch(size_t(w.cols));
  double* acc = acc_scratch(size_t(n_tok * w.cols));
  for (int64_t i = 0; i < n_tok * w.cols; ++i) acc[i] = 0.0;
  for (int64_t r = 0; r < w.rows; ++r) {
    load_row(w, r, row);
    for (int64_t t = 0; t < n_tok; ++t) {
      const double xr = x[t * w.rows + r];
      double* a = acc + t * w.cols;
      for (int64_t c = 0; c < w.cols; ++c) a[c] += xr * double(row[c]);
    }
  }
  for (int64_t i = 0; i < n_tok * w.cols; ++i) y[i] = float(acc[i]);
}

namespace {

// sum x[i]^2 in f64 over 8 independent partial sums: one chain of f64 adds was the latency of
// a norm (~4 cycles per element), and the norms of a decode step run on one thread while the
// others wait.
double sum_of_squares(const float* x, int64_t n) {
  double part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += double(x[i + j]) * double(x[i + j]);
  double s =
      ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  for (; i < n; ++i) s += double(x[i]) * double(x[i]);
  return s;
}

}  // namespace

void rms_norm(const float* x, const float* weight, int64_t n_tok, int64_t width, double eps,
              float* out) {
  for (int64_t t = 0; t < n_tok; ++t) {
    const float* xr = x + t * width;
    float* o = out + t * width;
    const double inv = 1.0 / std::sqrt(sum_of_squares(xr, width) / double(width) + eps);
    for (int64_t i = 0; i < width; ++i) o[i] = float(double(xr[i]) * inv * double(weight[i]));
  }
}

void softmax(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = std::exp(double(x[i]) - double(mx));
    x[i] = float(e);
    sum += e;
  }
  for (int64_t i = 0; i < n; ++i) x[i] = float(double(x[i]) / sum);
}

void silu_mul(float* gate, const float* up, int64_t n) {
  // f32 SIMD (vector exp, ~1 ulp): the MLP's activations, ~4% of a prefill in f64 scalar code
  simd::silu_mul(gate, up, n);
}

void add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void apply_rope(float* x, int64_t n_heads, int64_t head_stride, int64_t rope_dim,
                const float* cos_t, const float* sin_t, RopeStyle style) {
  const int64_t half = rope_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_stride;
    for (int64_t i = 0; i < half; ++i) {
      // the two members of pair i
      float* a = style == RopeStyle::kPair ? v + 2 * i : v + i;
      float* b = style == RopeStyle::kPair ? v + 2 * i + 1 : v + i + half;
      const double x0 = *a, x1 = *b, c = cos_t[i], s = sin_t[i];
      *a = float(x0 * c - x1 * s);
      *b = float(x0 * s + x1 * c);
    }
  }
}

}  // namespace whale
