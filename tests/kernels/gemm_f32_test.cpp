// The attention products (kernels/gemm_f32.h) against their f64 references, on every SIMD
// target this CPU supports, for tile-sized and odd shapes (row, key, column and K tails) and
// strided operands (rows of a KV cache read in place).
//
// Tolerance from the numerics: f32 accumulation of K products errs by at most
// K * 2^-24 * sum_k |a_k b_k| (recursive summation bound); 1.2e-7 * K * sum|a b| is used, plus
// the rounding of the stored result.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gemm_test_shapes.h"
#include "hwy/targets.h"
#include "kernels/gemm_f32.h"
#include "platform/fp16.h"
#include "simd_test_util.h"

namespace whale {
namespace {

using test::for_each_simd_target;
using test::random_vec;

using Shape = test::GemmShape;
const auto& kShapes = test::kGemmShapes;

// abt's result against the reference: within the f32 accumulation bound of a and the keys b
// (the values the kernel read, widened for f16), and the padding between rows of c untouched.
void expect_abt_near(const Shape& s, const std::vector<float>& a, int64_t lda,
                     const std::vector<float>& b, int64_t ldb, const std::vector<float>& got,
                     const std::vector<float>& want, int64_t ldc, float alpha) {
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t n = 0; n < ldc; ++n) {
      if (n >= s.N) {
        ASSERT_EQ(got[m * ldc + n], -7.0f);
        continue;
      }
      double mag = 0.0;
      for (int64_t k = 0; k < s.K; ++k) mag += std::fabs(double(a[m * lda + k]) * b[n * ldb + k]);
      const double tol = 1.2e-7 * double(s.K) * mag * alpha + 1e-7 * std::fabs(want[m * ldc + n]);
      ASSERT_NEAR(got[m * ldc + n], want[m * ldc + n], tol)
          << "M=" << s.M << " N=" << s.N << " K=" << s.K << " at " << m << "," << n;
    }
}

// ab_acc's result against the reference, from the same starting c0; padding untouched.
void expect_ab_acc_near(const Shape& s, const std::vector<float>& a, int64_t lda,
                        const std::vector<float>& b, int64_t ldb, const std::vector<float>& c0,
                        const std::vector<float>& got, const std::vector<float>& want,
                        int64_t ldc) {
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t n = 0; n < ldc; ++n) {
      if (n >= s.N) {
        ASSERT_EQ(got[m * ldc + n], c0[m * ldc + n]);
        continue;
      }
      double mag = std::fabs(c0[m * ldc + n]);
      for (int64_t k = 0; k < s.K; ++k) mag += std::fabs(double(a[m * lda + k]) * b[k * ldb + n]);
      ASSERT_NEAR(got[m * ldc + n], want[m * ldc + n], 1.2e-7 * double(s.K + 1) * mag)
          << "M=" << s.M << " N=" << s.N << " K=" << s.K << " at " << m << "," << n;
    }
}

TEST(GemmF32, AbtMatchesReferenceOnStridedOperands) {
  for_each_simd_target([] {
    for (const Shape& s : kShapes) {
      const int64_t lda = s.K + 3, ldb = s.K + 11, ldc = s.N + 2;  // rows read in place
      const auto a = random_vec(size_t(s.M * lda), 1);
      const auto b = random_vec(size_t(s.N * ldb), 2);
      std::vector<float> got(size_t(s.M * ldc), -7.0f), want(got);
      const float alpha = 0.125f;
      gemm_f32_abt(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, got.data(), ldc, alpha);
      gemm_f32_abt_reference(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, want.data(), ldc, alpha);
      expect_abt_near(s, a, lda, b, ldb, got, want, ldc, alpha);
    }
  });
}

TEST(GemmF32, AbAccAddsToTheOutputOnStridedOperands) {
  for_each_simd_target([] {
    for (const Shape& s : kShapes) {
      const int64_t lda = s.K + 1, ldb = s.N + 5, ldc = s.N + 3;
      const auto a = random_vec(size_t(s.M * lda), 3);
      const auto b = random_vec(size_t(s.K * ldb), 4);
      const auto c0 = random_vec(size_t(s.M * ldc), 5);
      std::vector<float> got(c0), want(c0);
      gemm_f32_ab_acc(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, got.data(), ldc);
      gemm_f32_ab_acc_reference(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, want.data(), ldc);
      expect_ab_acc_near(s, a, lda, b, ldb, c0, got, want, ldc);
    }
  });
}

TEST(GemmF32, WidenHalfMatchesTheScalarConversions) {
  std::mt19937 rng(9);
  // Finite values only: Highway's f16 emulation on targets without F16C (SSE4 and older) does
  // not keep infinities and NaNs, which no usable weight holds.
  std::vector<uint16_t> bits(1000 + 13);
  for (uint16_t& b : bits) {
    do b = uint16_t(rng());
    while ((b & 0x7C00) == 0x7C00 || (b & 0x7F80) == 0x7F80);
  }
  for_each_simd_target([&] {
    for (bool bf16 : {false, true}) {
      std::vector<float> got(bits.size());
      widen_half_to_f32(bits.data(), bf16, got.data(), int64_t(bits.size()));
      for (size_t i = 0; i < bits.size(); ++i) {
        const float want = bf16 ? bf16_to_f32(bits[i]) : f16_to_f32(bits[i]);
        ASSERT_EQ(got[i], want) << (bf16 ? "bf16 " : "f16 ") << std::hex << bits[i];
      }
    }
  });
}

// A row's scores fed in blocks of odd sizes (a max that rises, stays, and a block past the
// causal prefix): every step's probabilities, factor and state against the f64 reference. exp
// in f32 lanes is within a few ulp, so 1e-6 relative.
TEST(GemmF32, OnlineSoftmaxBlockMatchesReference) {
  const auto scores = random_vec(300, 11);
  const int64_t sizes[][2] = {{5, 5}, {17, 20}, {0, 8}, {64, 64}, {33, 40}, {1, 1}, {100, 100}};
  for_each_simd_target([&] {
    float max = -INFINITY, sum = 0.0f, rmax = -INFINITY, rsum = 0.0f;
    int64_t at = 0;
    for (const auto& sz : sizes) {
      const int64_t n = sz[0], n_pad = sz[1];
      std::vector<float> got(scores.begin() + at, scores.begin() + at + n_pad), want(got);
      // Scale up so later blocks raise the max (the factor path) and some lower it.
      for (int64_t j = 0; j < n_pad; ++j) got[j] = want[j] = want[j] * float(1 + at / 50);
      const float f = online_softmax_block(got.data(), n, n_pad, &max, &sum);
      const float rf = online_softmax_block_reference(want.data(), n, n_pad, &rmax, &rsum);
      ASSERT_NEAR(f, rf, 1e-6 * rf) << "block at " << at;
      ASSERT_EQ(max, rmax);
      ASSERT_NEAR(sum, rsum, 1e-6 * rsum);
      for (int64_t j = 0; j < n_pad; ++j) ASSERT_NEAR(got[j], want[j], 1e-6 * want[j]) << j;
      for (int64_t j = n; j < n_pad; ++j) ASSERT_EQ(got[j], 0.0f);
      at += n_pad;
    }
  });
}

TEST(GemmF32, OnlineSoftmaxFirstBlockHasFactorZeroAndSameMaxHasOne) {
  float s[3] = {1.0f, 3.0f, 2.0f}, max = -INFINITY, sum = 0.0f;
  EXPECT_EQ(online_softmax_block(s, 3, 3, &max, &sum), 0.0f);
  EXPECT_EQ(max, 3.0f);
  EXPECT_FLOAT_EQ(s[1], 1.0f);
  EXPECT_NEAR(sum, std::exp(-2.0) + 1.0 + std::exp(-1.0), 1e-6);
  float t[2] = {3.0f, -1.0f};
  EXPECT_EQ(online_softmax_block(t, 2, 2, &max, &sum), 1.0f);
  float u[1] = {5.0f};
  EXPECT_NEAR(online_softmax_block(u, 1, 1, &max, &sum), std::exp(-2.0), 1e-7);
}

TEST(GemmF32, ScaleMultipliesEveryValue) {
  for_each_simd_target([] {
    auto x = random_vec(37, 12);
    const auto x0 = x;
    scale_f32(x.data(), 37, 0.375f);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], x0[i] * 0.375f);
  });
}

// Keys split into several products (the runs of a paged cache, at any offsets) give bitwise the
// scores of one product: a tile element and a tail element are computed the same way.
TEST(GemmF32, AbtElementsDoNotDependOnHowTheKeysAreSplit) {
  for_each_simd_target([] {
    const int64_t M = 7, N = 37, K = 83;
    const auto a = random_vec(size_t(M * K), 13), b = random_vec(size_t(N * K), 14);
    std::vector<float> whole(size_t(M * N)), split(whole.size());
    gemm_f32_abt(M, N, K, a.data(), K, b.data(), K, whole.data(), N, 0.5f);
    const int64_t cuts[] = {0, 5, 6, 16, 30, 37};
    for (int c = 0; c + 1 < 6; ++c)
      gemm_f32_abt(M, cuts[c + 1] - cuts[c], K, a.data(), K, b.data() + cuts[c] * K, K,
                   split.data() + cuts[c], N, 0.5f);
    for (size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(split[i], whole[i]) << i;
  });
}

// b as an f16 KV cache stores it (narrow_f32_to_f16), widened for the references.
struct HalfMatrix {
  std::vector<uint16_t> half;
  std::vector<float> wide;
  explicit HalfMatrix(const std::vector<float>& x) : half(x.size()), wide(x.size()) {
    narrow_f32_to_f16(x.data(), half.data(), int64_t(x.size()));
    for (size_t i = 0; i < x.size(); ++i) wide[i] = f16_to_f32(half[i]);
  }
};

TEST(GemmF32, F16KeysAndValuesMatchTheReferenceOfTheirValues) {
  for_each_simd_target([] {
    for (const Shape& s : kShapes) {
      {
        const int64_t lda = s.K + 3, ldb = s.K + 11, ldc = s.N + 2;
        const auto a = random_vec(size_t(s.M * lda), 31);
        const HalfMatrix b(random_vec(size_t(s.N * ldb), 32));
        std::vector<float> got(size_t(s.M * ldc), -7.0f), want(got);
        gemm_f32_abt_f16(s.M, s.N, s.K, a.data(), lda, b.half.data(), ldb, got.data(), ldc, 0.5f);
        gemm_f32_abt_reference(s.M, s.N, s.K, a.data(), lda, b.wide.data(), ldb, want.data(), ldc,
                               0.5f);
        expect_abt_near(s, a, lda, b.wide, ldb, got, want, ldc, 0.5f);
      }
      {
        const int64_t lda = s.K + 1, ldb = s.N + 5, ldc = s.N + 3;
        const auto a = random_vec(size_t(s.M * lda), 33);
        const HalfMatrix b(random_vec(size_t(s.K * ldb), 34));
        const auto c0 = random_vec(size_t(s.M * ldc), 35);
        std::vector<float> got(c0), want(c0);
        gemm_f32_ab_acc_f16(s.M, s.N, s.K, a.data(), lda, b.half.data(), ldb, got.data(), ldc);
        gemm_f32_ab_acc_reference(s.M, s.N, s.K, a.data(), lda, b.wide.data(), ldb, want.data(),
                                  ldc);
        expect_ab_acc_near(s, a, lda, b.wide, ldb, c0, got, want, ldc);
      }
    }
  });
}

TEST(GemmF32, F16AbtElementsDoNotDependOnHowTheKeysAreSplit) {
  for_each_simd_target([] {
    const int64_t M = 7, N = 37, K = 83;
    const auto a = random_vec(size_t(M * K), 41);
    const HalfMatrix b(random_vec(size_t(N * K), 42));
    std::vector<float> whole(size_t(M * N)), split(whole.size());
    gemm_f32_abt_f16(M, N, K, a.data(), K, b.half.data(), K, whole.data(), N, 0.5f);
    const int64_t cuts[] = {0, 5, 6, 16, 30, 37};
    for (int c = 0; c + 1 < 6; ++c)
      gemm_f32_abt_f16(M, cuts[c + 1] - cuts[c], K, a.data(), K, b.half.data() + cuts[c] * K, K,
                       split.data() + cuts[c], N, 0.5f);
    for (size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(split[i], whole[i]) << i;
  });
}

TEST(GemmF32, NarrowToF16RoundsToNearestAndSaturates) {
  for_each_simd_target([] {
    std::vector<float> x = random_vec(77, 51);
    x[3] = 1e6f, x[40] = -1e9f, x[76] = 70000.0f, x[5] = 65504.0f, x[6] = 1.0f + 1.0f / 4096;
    std::vector<uint16_t> h(x.size());
    narrow_f32_to_f16(x.data(), h.data(), int64_t(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const float clamped = std::fmin(std::fmax(x[i], -65504.0f), 65504.0f);
      ASSERT_EQ(h[i], f32_to_f16(clamped)) << i;
    }
    EXPECT_EQ(f16_to_f32(h[3]), 65504.0f);
    EXPECT_EQ(f16_to_f32(h[40]), -65504.0f);
    EXPECT_EQ(f16_to_f32(h[6]), 1.0f);  // a tie rounds to even
  });
}

TEST(GemmF32, EmptyShapesWriteNothing) {
  std::vector<float> c(4, 3.0f);
  const float a[4] = {1, 2, 3, 4};
  gemm_f32_abt(0, 2, 2, a, 2, a, 2, c.data(), 2, 1.0f);
  gemm_f32_ab_acc(2, 2, 0, a, 2, a, 2, c.data(), 2);
  for (float v : c) EXPECT_EQ(v, 3.0f);
}

}  // namespace
}  // namespace whale
