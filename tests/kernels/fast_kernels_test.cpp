// One harness for every fast kernel variant against the scalar reference (STYLE.md 10): every
// weight type, on every SIMD target this CPU supports (Highway's test hook forces each in turn),
// on odd sizes (tails, single rows, one block), with and without the thread pool.
//
// Tolerances come from the numerics, not from guesses:
//   - f32 accumulation of n products: |error| <= n * 2^-24 * sum |w_i x_i| (textbook bound for
//     recursive summation; SIMD lanes only shorten the chains). We use n * 1.2e-7.
//   - integer kernels quantize x per 32-block to q * d with d = max|x_b| / 127, so each element
//     moves by at most d / 2. Against the reference on the SAME quantized activations the only
//     difference left is f32 rounding (checked tightly); against the original activations the
//     difference is additionally bounded by sum_b (d_b / 2) sum_{i in b} |w_i|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "hwy/targets.h"
#include "kernels/kernels.h"
#include "kernels/simd_kernels.h"
#include "kernels_test_data.h"
#include "platform/thread_pool.h"
#include "simd_test_util.h"

namespace whale {
namespace {

using test::for_each_simd_target;

std::vector<float> dense(const MatrixView& w) {
  std::vector<float> d(size_t(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r) matrix_row(w, r, d.data() + r * w.cols);
  return d;
}

// x rounded exactly as the integer kernels see it.
std::vector<float> q8_roundtrip(const std::vector<float>& x, int64_t cols) {
  const int64_t rows = int64_t(x.size()) / cols;
  std::vector<int8_t> q(x.size());
  std::vector<float> d(x.size() / 32), s(x.size() / 32), out(x.size());
  simd::quantize_q8(x.data(), rows, cols, q.data(), d.data(), s.data());
  for (size_t i = 0; i < x.size(); ++i) out[i] = d[i / 32] * float(q[i]);
  return out;
}

struct Shape {
  int64_t rows, blocks, n_tok;  // cols = blocks * block size (f32 family: an odd count)
};

void check_matmul(TensorType type, const Shape& sh, uint32_t seed) {
  const int64_t bs = traits(type).block_size;
  const int64_t cols = bs == 1 ? 32 * sh.blocks + 7 : bs * sh.blocks;
  SCOPED_TRACE(std::string(traits(type).name) + " rows " + std::to_string(sh.rows) + " cols " +
               std::to_string(cols) + " tokens " + std::to_string(sh.n_tok));
  auto bytes = random_weight(type, sh.rows, cols, seed);
  auto w = make_matrix_view(type, bytes.data(), sh.rows, cols);
  ASSERT_TRUE(w.ok()) << w.error().message;
  const auto d = dense(w.value());
  const auto x = random_vec(size_t(sh.n_tok * cols), seed + 1);
  const bool integer = simd::has_q8_kernel(type);
  const auto xq = integer ? q8_roundtrip(x, cols) : x;

  std::vector<float> fast(size_t(sh.n_tok * sh.rows)), ref_q(fast.size()), ref(fast.size());
  matmul(w.value(), x.data(), sh.n_tok, fast.data());
  matmul_reference(w.value(), xq.data(), sh.n_tok, ref_q.data());
  matmul_reference(w.value(), x.data(), sh.n_tok, ref.data());
  for (int64_t t = 0; t < sh.n_tok; ++t)
    for (int64_t r = 0; r < sh.rows; ++r) {
      const float* wr = d.data() + r * cols;
      const float* xt = x.data() + t * cols;
      double mag = 0, act_bound = 0;
      for (int64_t c = 0; c < cols; ++c) mag += std::fabs(double(wr[c]) * xt[c]);
      if (integer)
        for (int64_t b = 0; b < cols / 32; ++b) {
          double amax = 0, wsum = 0;
          for (int64_t i = 32 * b; i < 32 * b + 32; ++i) {
            amax = std::max(amax, std::fabs(double(xt[i])));
            wsum += std::fabs(double(wr[i]));
          }
          act_bound += amax / 127.0 / 2.0 * wsum;
        }
      const size_t i = size_t(t * sh.rows + r);
      // Q4_K's minimum terms are summed apart from the scaled products (w = s q - m), which
      // can cancel: count them in the magnitude via max|w| * sum|x|.
      double wmax = 0, xsum = 0;
      for (int64_t c = 0; c < cols; ++c) {
        wmax = std::max(wmax, std::fabs(double(wr[c])));
        xsum += std::fabs(double(xt[c]));
      }
      const double round_bound = double(cols) * 1.2e-7 * (mag + wmax * xsum) + 1e-30;
      EXPECT_NEAR(fast[i], ref_q[i], round_bound) << "t " << t << " r " << r;
      EXPECT_NEAR(fast[i], ref[i], round_bound + act_bound * 1.001) << "t " << t << " r " << r;
    }
}

TEST(FastKernels, MatmulMatchesReferenceForEveryTypeTargetAndShape) {
  // Block counts 1-3 end inside the first 4-block group of the AVX-512 VNNI layout; 7-9 give
  // whole groups plus every tail length (and 2-3 super-blocks for the K-quants). From
  // kLaneMinTokens tokens on, AVX-512 VNNI takes the lane layout: chunks of 16 blocks (512 or
  // 256 elements) with partial last chunks (17, 35 blocks), row blocks and tails of 1-4 tokens;
  // AVX2 its own lanes (chunks of 8 blocks, tiles of 8 rows x 16 tokens). One token with 9 and
  // 17 blocks: AVX2 decode's groups of 8 blocks, its tail blocks and its 4 row streams.
  const Shape shapes[] = {{1, 1, 1},  {13, 3, 1},  {9, 2, 5},  {17, 1, 3},  {3, 1, 2},
                          {5, 2, 6},  {4, 1, 15},  {6, 9, 5},  {3, 8, 4},   {2, 7, 1},
                          {13, 9, 1}, {6, 17, 1},  {5, 4, 9},  {9, 17, 16}, {7, 35, 17},
                          {2, 1, 31}, {11, 3, 18}, {5, 20, 19}};
  static_assert(simd::kLaneMinTokens == 16, "the last five shapes are meant to use the lanes");
  for_each_simd_target([&] {
    uint32_t seed = 100;
    for (TensorType type : kTypes)
      for (const Shape& sh : shapes) check_matmul(type, sh, seed++);
  });
}

TEST(FastKernels, LaneKernelsCrossRowBlocksAndTokenPanels) {
  // 1000 rows fill more than one repacked block of rows on the AVX-512 VNNI and the AVX2 lanes
  // (Q4_0: 288-576 KB, Q6_K: more), and 40 tokens more than two AVX2 token panels.
  for_each_simd_target([&] {
    check_matmul(TensorType::Q4_0, {1000, 3, 40}, 7);
    check_matmul(TensorType::Q6_K, {300, 3, 40}, 8);
  });
}

TEST(FastKernels, ThreadedMatmulEqualsSingleThreadedExactly) {
  // Rows are split across threads but each row is computed by the same code: bit-identical.
  // (19 tokens: the lane layout, where a thread's rows start and end at other tile boundaries.)
  ThreadPool pool(3);
  for (int64_t n_tok : {int64_t(2), simd::kLaneMinTokens + 3})
    for (TensorType type : {TensorType::Q4_K, TensorType::Q8_0, TensorType::F16, TensorType::Q5_K,
                            TensorType::Q6_K, TensorType::Q4_0}) {
      SCOPED_TRACE(std::string(traits(type).name) + " tokens " + std::to_string(n_tok));
      const int64_t rows = 67, cols = 512;
      auto bytes = random_weight(type, rows, cols, 7);
      auto w = make_matrix_view(type, bytes.data(), rows, cols);
      ASSERT_TRUE(w.ok());
      const auto x = random_vec(size_t(n_tok * cols), 8);
      std::vector<float> one(size_t(n_tok * rows)), many(one.size());
      matmul(w.value(), x.data(), n_tok, one.data());
      matmul(w.value(), x.data(), n_tok, many.data(), &pool);
      EXPECT_EQ(one, many);
    }
}

TEST(FastKernels, SharedInputProductsEqualSeparateOnesExactly) {
  // One quantization of x and one parallel region for several matrices of mixed types (as a
  // q4_k_m file mixes Q4_K and Q6_K): every output equals its own matmul bit for bit.
  ThreadPool pool(2);
  const int64_t cols = 512, n_tok = 3;
  const TensorType types[] = {TensorType::Q4_K, TensorType::Q6_K, TensorType::F16,
                              TensorType::Q5_K};
  const int64_t rows[] = {37, 5, 20, 9};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<MatrixView> views;
  for (int i = 0; i < 4; ++i) {
    bytes.push_back(random_weight(types[i], rows[i], cols, uint32_t(50 + i)));
    auto w = make_matrix_view(types[i], bytes.back().data(), rows[i], cols);
    ASSERT_TRUE(w.ok());
    views.push_back(w.value());
  }
  const auto x = random_vec(size_t(n_tok * cols), 60);
  std::vector<std::vector<float>> shared(4), separate(4);
  std::vector<MatmulPart> parts;
  for (int i = 0; i < 4; ++i) {
    shared[size_t(i)].assign(size_t(n_tok * rows[i]), 0.0f);
    separate[size_t(i)].assign(size_t(n_tok * rows[i]), 0.0f);
    parts.push_back({&views[size_t(i)], shared[size_t(i)].data()});
    matmul(views[size_t(i)], x.data(), n_tok, separate[size_t(i)].data());
  }
  matmul_shared_input(parts, x.data(), n_tok, &pool);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(shared[size_t(i)], separate[size_t(i)]) << i;
}

TEST(FastKernels, TransposedDotAxpyMatchReference) {
  for_each_simd_target([&] {
    for (TensorType type :
         {TensorType::F32, TensorType::BF16, TensorType::Q8_0, TensorType::Q4_K}) {
      SCOPED_TRACE(std::string(traits(type).name));
      const int64_t bs = traits(type).block_size;
      const int64_t rows = 11, cols = bs == 1 ? 45 : bs * 2, n_tok = 3;
      auto bytes = random_weight(type, rows, cols, 21);
      auto w = make_matrix_view(type, bytes.data(), rows, cols);
      ASSERT_TRUE(w.ok());
      const auto d = dense(w.value());
      const auto x = random_vec(size_t(n_tok * rows), 22);
      std::vector<float> fast(size_t(n_tok * cols)), ref(fast.size());
      matmul_transposed(w.value(), x.data(), n_tok, fast.data());
      matmul_transposed_reference(w.value(), x.data(), n_tok, ref.data());
      for (int64_t t = 0; t < n_tok; ++t)
        for (int64_t c = 0; c < cols; ++c) {
          double mag = 0;
          for (int64_t r = 0; r < rows; ++r)
            mag += std::fabs(double(x[size_t(t * rows + r)]) * d[size_t(r * cols + c)]);
          EXPECT_NEAR(fast[size_t(t * cols + c)], ref[size_t(t * cols + c)],
                      double(rows) * 1.2e-7 * mag + 1e-30);
        }
    }
    for (int64_t n : {1, 7, 16, 33, 100}) {
      const auto a = random_vec(size_t(n), 30), b = random_vec(size_t(n), 31);
      double mag = 0;
      for (int64_t i = 0; i < n; ++i) mag += std::fabs(double(a[size_t(i)]) * b[size_t(i)]);
      EXPECT_NEAR(dot_f32(a.data(), b.data(), n), dot(a.data(), b.data(), n),
                  double(n) * 1.2e-7 * mag);
      auto y = b;
      axpy(0.75f, a.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_NEAR(y[size_t(i)], b[size_t(i)] + 0.75 * a[size_t(i)],
                    1.2e-7 * (std::fabs(b[size_t(i)]) + std::fabs(0.75 * a[size_t(i)])) * 2);
    }
  });
}

TEST(FastKernels, SiluMulMatchesF64OnEveryTarget) {
  // Vector exp is ~1 ulp, plus the divide and multiply: a few f32 ulps of the result. Large
  // |gate| covers the capped exp (gate << 0: result ~0) and its underflow (gate >> 0).
  for_each_simd_target([&] {
    auto gate = random_vec(37, 5, 4.0f);
    const auto up = random_vec(37, 6);
    gate[3] = -100.0f;
    gate[4] = 120.0f;
    gate[5] = -1e30f;
    gate[6] = 0.0f;
    const auto g0 = gate;
    silu_mul(gate.data(), up.data(), int64_t(gate.size()));
    for (size_t i = 0; i < gate.size(); ++i) {
      const double g = g0[i];
      const double want = g / (1.0 + std::exp(-g)) * double(up[i]);
      EXPECT_NEAR(gate[i], want, 4e-7 * std::fabs(want) + 1e-30) << i;
    }
  });
}

TEST(FastKernels, SoftmaxMatchesReference) {
  // exp is within a few ulp and the sum is f32: |error| <= (8 + n) * 1.2e-7 * value.
  for_each_simd_target([&] {
    for (int64_t n : {1, 3, 16, 17, 100, 4099}) {
      auto x = random_vec(size_t(n), uint32_t(40 + n), 4.0f);
      if (n > 3) x[2] = -200.0f;  // underflows to 0 in both
      auto ref = x, fast = x;
      softmax(ref.data(), n);
      softmax_f32(fast.data(), n);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_NEAR(fast[size_t(i)], ref[size_t(i)],
                    double(8 + n) * 1.2e-7 * ref[size_t(i)] + 1e-30)
            << "n " << n << " i " << i;
    }
  });
}

TEST(FastKernels, ActivationQuantizationIsQ8_0) {
  // One block: d = max|x| / 127, q = round(x / d), the sum is d * sum q; an all-zero block
  // gives d = 0 and q = 0 (no division by zero).
  std::vector<float> x(64, 0.0f);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = float(i - 10) * 0.5f;  // max |x| = 10.5
  std::vector<int8_t> q(64);
  std::vector<float> d(2), s(2);
  simd::quantize_q8(x.data(), 1, 64, q.data(), d.data(), s.data());
  EXPECT_FLOAT_EQ(d[0], 10.5f / 127.0f);
  EXPECT_EQ(q[31], 127);
  EXPECT_EQ(q[0], -60);  // -5 / (10.5 / 127) = -60.48 -> -60
  int isum = 0;
  for (int i = 0; i < 32; ++i) isum += q[size_t(i)];
  EXPECT_FLOAT_EQ(s[0], d[0] * float(isum));
  EXPECT_EQ(d[1], 0.0f);
  for (int i = 32; i < 64; ++i) EXPECT_EQ(q[size_t(i)], 0);
}

TEST(FastKernels, ActivationQuantizationIsIdenticalOnEveryTarget) {
  // Every target's quantizer (AVX-512 VNNI, AVX2, portable) gives the scalar definition's q, d
  // and sum bit for bit: 4 rows of 96 values, one block of them all zero and one with ties.
  const int64_t rows = 4, cols = 96, nb = rows * cols / 32;
  auto x = random_vec(size_t(rows * cols), 21);
  for (int i = 0; i < 32; ++i) x[size_t(32 + i)] = 0.0f;
  // d = 0.25: x / d = +-2.5 ties (to even: +-2)
  for (int i = 0; i < 32; ++i) x[size_t(64 + i)] = float(i % 5 - 2) * 0.625f;
  x[64] = 127.0f * 0.25f;
  std::vector<int8_t> want_q(x.size());
  std::vector<float> want_d(static_cast<size_t>(nb)), want_s(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[size_t(32 * b + i)]));
    const float db = amax / 127.0f, inv = db > 0.0f ? 1.0f / db : 0.0f;
    int isum = 0;
    for (int i = 0; i < 32; ++i) {
      const size_t k = size_t(32 * b + i);
      want_q[k] = int8_t(std::nearbyint(x[k] * inv));
      isum += want_q[k];
    }
    want_d[size_t(b)] = db;
    want_s[size_t(b)] = db * float(isum);
  }
  for_each_simd_target([&] {
    SCOPED_TRACE(kernel_target_name());
    std::vector<int8_t> q(x.size());
    std::vector<float> d(static_cast<size_t>(nb)), s(static_cast<size_t>(nb));
    simd::quantize_q8(x.data(), rows, cols, q.data(), d.data(), s.data());
    EXPECT_EQ(q, want_q);
    EXPECT_EQ(d, want_d);
    EXPECT_EQ(s, want_s);
  });
}

TEST(FastKernels, ReportsATarget) {
  EXPECT_STRNE(kernel_target_name(), "");
}

}  // namespace
}  // namespace whale
