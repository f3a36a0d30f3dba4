// The REFERENCE kernels against plain loops on random data, for every weight type: the
// expected values are computed here from dequantize_row (the definition of each format) with
// straightforward f64 loops, so a wrong stride, slice or accumulation shows up.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "kernels_test_data.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace whale {
namespace {

std::vector<float> dense(const MatrixView& w) {
  std::vector<float> d(size_t(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r) matrix_row(w, r, d.data() + r * w.cols);
  return d;
}

TEST(Kernels, MatmulAndTransposedMatchPlainLoopsForEveryType) {
  for (TensorType type : kTypes) {
    SCOPED_TRACE(std::string(traits(type).name));
    const int64_t cols = traits(type).block_size == 1 ? 40 : 2 * int64_t(traits(type).block_size);
    const int64_t rows = 7, n_tok = 3;
    auto bytes = random_weight(type, rows, cols, 11);
    auto w = make_matrix_view(type, bytes.data(), rows, cols);
    ASSERT_TRUE(w.ok()) << w.error().message;
    const auto d = dense(w.value());
    // matrix_row agrees with dequantizing the row directly
    std::vector<float> row(static_cast<size_t>(cols));
    ASSERT_TRUE(
        dequantize_row(type, bytes.data() + 3 * w->row_stride_bytes, row.data(), cols).ok());
    for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(row[size_t(c)], d[size_t(3 * cols + c)]);

    auto x = random_vec(size_t(n_tok * cols), 5);
    std::vector<float> y(size_t(n_tok * rows));
    matmul_reference(w.value(), x.data(), n_tok, y.data());
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double s = 0;
        for (int64_t c = 0; c < cols; ++c)
          s += double(d[size_t(r * cols + c)]) * x[size_t(t * cols + c)];
        EXPECT_NEAR(y[size_t(t * rows + r)], s, 1e-5 * (1 + std::fabs(s)));
      }

    auto xt = random_vec(size_t(n_tok * rows), 6);
    std::vector<float> yt(size_t(n_tok * cols));
    matmul_transposed_reference(w.value(), xt.data(), n_tok, yt.data());
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t c = 0; c < cols; ++c) {
        double s = 0;
        for (int64_t r = 0; r < rows; ++r)
          s += double(xt[size_t(t * rows + r)]) * d[size_t(r * cols + c)];
        EXPECT_NEAR(yt[size_t(t * cols + c)], s, 1e-5 * (1 + std::fabs(s)));
      }

    // a row slice is the same rows of the full matrix
    std::vector<float> ys(size_t(n_tok * 2));
    matmul_reference(w->row_slice(4, 2), x.data(), n_tok, ys.data());
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = 0; r < 2; ++r) EXPECT_EQ(ys[size_t(t * 2 + r)], y[size_t(t * rows + 4 + r)]);
  }
}

TEST(Kernels, MatrixViewRejectsPartialBlocksAndUnknownTypes) {
  std::vector<uint8_t> bytes(4096);
  EXPECT_FALSE(make_matrix_view(TensorType::Q8_0, bytes.data(), 2, 16).ok());
  EXPECT_FALSE(make_matrix_view(TensorType::I32, bytes.data(), 2, 16).ok());
  EXPECT_FALSE(make_matrix_view(TensorType::F32, bytes.data(), 0, 16).ok());
  EXPECT_TRUE(make_matrix_view(TensorType::Q4_K, bytes.data(), 1, 256).ok());
}

TEST(Kernels, RmsNormSoftmaxSiluAddMatchPlainLoops) {
  const int64_t n = 3, w = 33;
  auto x = random_vec(size_t(n * w), 1, 3.0f);
  auto g = random_vec(size_t(w), 2);
  std::vector<float> y(x.size());
  rms_norm(x.data(), g.data(), n, w, 1e-6, y.data());
  for (int64_t t = 0; t < n; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < w; ++i) ss += double(x[size_t(t * w + i)]) * x[size_t(t * w + i)];
    const double inv = 1.0 / std::sqrt(ss / w + 1e-6);
    for (int64_t i = 0; i < w; ++i)
      EXPECT_NEAR(y[size_t(t * w + i)], x[size_t(t * w + i)] * inv * g[size_t(i)], 1e-5);
  }
  // in place gives the same
  std::vector<float> z = x;
  rms_norm(z.data(), g.data(), n, w, 1e-6, z.data());
  EXPECT_EQ(z, y);

  std::vector<float> s = {1.0f, 2.0f, 3.0f, -1000.0f};
  softmax(s.data(), 4);
  const double e = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(s[0], std::exp(1.0) / e, 1e-7);
  EXPECT_NEAR(s[2], std::exp(3.0) / e, 1e-7);
  EXPECT_EQ(s[3], 0.0f);
  std::vector<float> big = {1e30f, 1e30f};  // no overflow: max is subtracted
  softmax(big.data(), 2);
  EXPECT_FLOAT_EQ(big[0], 0.5f);

  std::vector<float> gate = {-2.0f, 0.0f, 1.5f}, up = {3.0f, 4.0f, -2.0f};
  silu_mul(gate.data(), up.data(), 3);
  EXPECT_NEAR(gate[0], -2.0 / (1 + std::exp(2.0)) * 3.0, 1e-6);
  EXPECT_EQ(gate[1], 0.0f);
  EXPECT_NEAR(gate[2], 1.5 / (1 + std::exp(-1.5)) * -2.0, 1e-6);

  std::vector<float> a = {1, 2}, b = {10, 20};
  add(a.data(), b.data(), 2);
  EXPECT_EQ(a, (std::vector<float>{11, 22}));
}

TEST(Kernels, RopePairAndHalfStylesAreTheSameRotationUnderPermutation) {
  const int64_t d = 8, heads = 2;
  auto x = random_vec(size_t(heads * d), 9);
  std::vector<float> cs(d / 2), sn(d / 2);
  for (int64_t i = 0; i < d / 2; ++i) {
    cs[size_t(i)] = float(std::cos(0.3 * (i + 1)));
    sn[size_t(i)] = float(std::sin(0.3 * (i + 1)));
  }
  // pair style on x; half style on x de-interleaved ([x0,x2,..,x1,x3,..]) must agree after
  // re-interleaving (this is exactly the relation between GGUF-permuted and HF llama q/k)
  std::vector<float> pair = x, half(x.size());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < d / 2; ++i) {
      half[size_t(h * d + i)] = x[size_t(h * d + 2 * i)];
      half[size_t(h * d + d / 2 + i)] = x[size_t(h * d + 2 * i + 1)];
    }
  apply_rope(pair.data(), heads, d, d, cs.data(), sn.data(), RopeStyle::kPair);
  apply_rope(half.data(), heads, d, d, cs.data(), sn.data(), RopeStyle::kHalf);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < d / 2; ++i) {
      EXPECT_FLOAT_EQ(pair[size_t(h * d + 2 * i)], half[size_t(h * d + i)]);
      EXPECT_FLOAT_EQ(pair[size_t(h * d + 2 * i + 1)], half[size_t(h * d + d / 2 + i)]);
    }
  // a plain rotation of pair 0 by angle a
  const double a = 0.3;
  EXPECT_NEAR(pair[0], x[0] * std::cos(a) - x[1] * std::sin(a), 1e-6);
  EXPECT_NEAR(pair[1], x[0] * std::sin(a) + x[1] * std::cos(a), 1e-6);
  // rope_dim < head size: the tail is untouched
  std::vector<float> part = x;
  apply_rope(part.data(), heads, d, 4, cs.data(), sn.data(), RopeStyle::kPair);
  for (int64_t i = 4; i < d; ++i) EXPECT_EQ(part[size_t(i)], x[size_t(i)]);
}

}  // namespace
}  // namespace whale
