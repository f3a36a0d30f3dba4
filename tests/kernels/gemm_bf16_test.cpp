// The bf16 attention products (kernels/gemm_bf16.h) against their f64 references, on every SIMD
// target this CPU supports: AVX-512 targets run the vdpbf16ps kernels where the CPU has
// AVX512-BF16, the others the widening fallback. Shapes cover row, key, column and K tails and
// strided operands (rows of a KV cache read in place).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gemm_test_shapes.h"
#include "hwy/targets.h"
#include "kernels/gemm_bf16.h"
#include "kernels/kernels.h"
#include "platform/fp16.h"
#include "simd_test_util.h"

namespace whale {
namespace {

using test::for_each_simd_target;
using test::random_vec;

using Shape = test::GemmShape;
const auto& kShapes = test::kGemmShapes;

std::vector<uint16_t> to_bf16(const std::vector<float>& x) {
  std::vector<uint16_t> h(x.size());
  narrow_f32_to_bf16(x.data(), h.data(), int64_t(x.size()));
  return h;
}

// |a| rounded to bf16 is at most |a| (1 + 2^-8).
double product_magnitude(double a, uint16_t b) {
  return std::fabs(a) * (1.0 + 1.0 / 256) * std::fabs(double(bf16_to_f32(b)));
}

TEST(GemmBF16, AbtMatchesReferenceOnStridedOperands) {
  for_each_simd_target([] {
    for (const Shape& s : kShapes) {
      const int64_t lda = s.K + 3, ldb = s.K + 11, ldc = s.N + 2;
      const auto a = to_bf16(random_vec(size_t(s.M * lda), 1));
      const auto b = to_bf16(random_vec(size_t(s.N * ldb), 2));
      std::vector<float> got(size_t(s.M * ldc), -7.0f), want(got);
      const float alpha = 0.125f;
      gemm_bf16_abt(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, got.data(), ldc, alpha);
      gemm_bf16_abt_reference(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, want.data(), ldc, alpha);
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < ldc; ++n) {
          if (n >= s.N) {
            ASSERT_EQ(got[m * ldc + n], -7.0f);
            continue;
          }
          double mag = 0.0;
          for (int64_t k = 0; k < s.K; ++k)
            mag += product_magnitude(bf16_to_f32(a[m * lda + k]), b[n * ldb + k]);
          const double tol =
              1.2e-7 * double(s.K) * mag * alpha + 1e-7 * std::fabs(want[m * ldc + n]);
          ASSERT_NEAR(got[m * ldc + n], want[m * ldc + n], tol)
              << "M=" << s.M << " N=" << s.N << " K=" << s.K << " at " << m << "," << n;
        }
    }
  });
}

TEST(GemmBF16, AbAccMatchesReferenceOnStridedOperands) {
  for_each_simd_target([] {
    for (const Shape& s : kShapes) {
      const int64_t lda = s.K + 1, ldb = s.N + 5, ldc = s.N + 3;
      const auto a = random_vec(size_t(s.M * lda), 3);
      const auto b = to_bf16(random_vec(size_t(s.K * ldb), 4));
      const auto c0 = random_vec(size_t(s.M * ldc), 5);
      std::vector<float> got(c0), want(c0);
      gemm_bf16_ab_acc(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, got.data(), ldc);
      gemm_bf16_ab_acc_reference(s.M, s.N, s.K, a.data(), lda, b.data(), ldb, want.data(), ldc);
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < ldc; ++n) {
          if (n >= s.N) {
            ASSERT_EQ(got[m * ldc + n], c0[m * ldc + n]);
            continue;
          }
          double mag = std::fabs(c0[m * ldc + n]);
          for (int64_t k = 0; k < s.K; ++k)
            mag += product_magnitude(a[m * lda + k], b[k * ldb + n]);
          ASSERT_NEAR(got[m * ldc + n], want[m * ldc + n], 1.2e-7 * double(s.K + 1) * mag)
              << "M=" << s.M << " N=" << s.N << " K=" << s.K << " at " << m << "," << n;
        }
    }
  });
}

// out += P V sums each element in key order with one rounding per key on every target
// (vdpbf16ps adds a pair's high product first, and the earlier key is put there), so all
// targets agree bit for bit: a pairing in the wrong order would break this.
TEST(GemmBF16, AbAccIsTheSameKeyOrderedSumOnEveryTarget) {
  const int64_t M = 16, N = 96, K = 61;
  const auto a = random_vec(size_t(M * K), 6);
  const auto b = to_bf16(random_vec(size_t(K * N), 7));
  const auto c0 = random_vec(size_t(M * N), 8, 4.0f);
  std::map<int64_t, std::vector<float>> results;
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    std::vector<float> c(c0);
    gemm_bf16_ab_acc(M, N, K, a.data(), K, b.data(), N, c.data(), N);
    results[target] = c;
  }
  hwy::SetSupportedTargetsForTest(0);
  for (const auto& [target, c] : results)
    for (size_t i = 0; i < c.size(); ++i)
      ASSERT_EQ(c[i], results.begin()->second[i]) << hwy::TargetName(target) << " at " << i;
}

TEST(GemmBF16, ElementsDoNotDependOnHowTheKeysAreSplit) {
  for_each_simd_target([] {
    const int64_t M = 7, N = 37, K = 83, D = 70;
    const auto a = to_bf16(random_vec(size_t(M * K), 13));
    const auto b = to_bf16(random_vec(size_t(N * K), 14));
    std::vector<float> whole(size_t(M * N)), split(whole.size());
    gemm_bf16_abt(M, N, K, a.data(), K, b.data(), K, whole.data(), N, 0.5f);
    const int64_t cuts[] = {0, 5, 6, 16, 30, 37};
    for (int c = 0; c + 1 < 6; ++c)
      gemm_bf16_abt(M, cuts[c + 1] - cuts[c], K, a.data(), K, b.data() + cuts[c] * K, K,
                    split.data() + cuts[c], N, 0.5f);
    for (size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(split[i], whole[i]) << i;

    // The value product over keys [0, 37) in one call and in runs of odd lengths.
    const auto p = random_vec(size_t(M * N), 15);
    const auto v = to_bf16(random_vec(size_t(N * D), 16));
    std::vector<float> one(size_t(M * D), 0.0f), runs(one);
    gemm_bf16_ab_acc(M, D, N, p.data(), N, v.data(), D, one.data(), D);
    for (int c = 0; c + 1 < 6; ++c)
      gemm_bf16_ab_acc(M, D, cuts[c + 1] - cuts[c], p.data() + cuts[c], N, v.data() + cuts[c] * D,
                       D, runs.data(), D);
    for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(runs[i], one[i]) << i;
  });
}

TEST(GemmBF16, NarrowRoundsToNearestEven) {
  std::vector<float> x = random_vec(40, 21);
  x[0] = 1.0f + 1.0f / 256;          // a tie: rounds to even (1)
  x[1] = 1.0f + 3.0f / 256;          // a tie: rounds to even (1 + 4/256)
  x[2] = 3.0e38f, x[3] = -1.0e-40f;  // near the top of the range, a subnormal
  x[4] = std::nanf("");
  const auto h = to_bf16(x);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(h[i], f32_to_bf16(x[i])) << i;
  EXPECT_EQ(bf16_to_f32(h[0]), 1.0f);
  EXPECT_EQ(bf16_to_f32(h[1]), 1.0f + 4.0f / 256);
  EXPECT_TRUE(std::isnan(bf16_to_f32(h[4])));
}

// The operands' rounding (vectorized where vdpbf16ps runs): the cache's rounding, except that
// the instruction may flush a subnormal to zero. 77 values: whole vectors and a tail.
TEST(GemmBF16, RoundToBF16IsTheCachesRounding) {
  for_each_simd_target([] {
    std::vector<float> x = random_vec(77, 22);
    x[0] = 1.0f + 1.0f / 256, x[1] = 1.0f + 3.0f / 256, x[2] = 3.0e38f, x[3] = -1.0e-40f;
    x[70] = std::nanf("");
    std::vector<uint16_t> h(x.size() + 1, 0xabcd);
    round_to_bf16(x.data(), int64_t(x.size()), h.data());
    for (size_t i = 0; i < x.size(); ++i) {
      if (i == 3) {
        ASSERT_TRUE(h[i] == f32_to_bf16(x[i]) || h[i] == 0x8000) << h[i];
      } else if (i == 70) {
        ASSERT_TRUE(std::isnan(bf16_to_f32(h[i])));
      } else {
        ASSERT_EQ(h[i], f32_to_bf16(x[i])) << i;
      }
    }
    EXPECT_EQ(h[x.size()], 0xabcd);  // nothing written past n
  });
}

TEST(GemmBF16, ReportsTheInstructionWhereTheCpuHasIt) {
#if defined(__x86_64__)
  EXPECT_EQ(bf16_dot_products(), bool(__builtin_cpu_supports("avx512bf16")) &&
                                     (hwy::SupportedTargets() & (HWY_AVX3 | HWY_AVX3_DL)) != 0);
#else
  EXPECT_FALSE(bf16_dot_products());
#endif
  hwy::SetSupportedTargetsForTest(HWY_AVX2);
  EXPECT_FALSE(bf16_dot_products());
  hwy::SetSupportedTargetsForTest(0);
}

// WHALE_SIMD's cap (cap_kernel_target) must reach the dispatcher, and stay there when the
// target's name is asked for afterwards (Highway re-detects the CPU then).
TEST(GemmBF16, ACapToAvx2HoldsForTheDispatcher) {
  const std::string best = kernel_target_name();
  const bool had_instruction = bf16_dot_products();
  EXPECT_FALSE(cap_kernel_target("NOT_A_TARGET"));
  EXPECT_EQ(kernel_target_name(), best);
  if ((hwy::SupportedTargets() & HWY_AVX2) == 0) GTEST_SKIP() << "no AVX2 on this CPU";
  ASSERT_TRUE(cap_kernel_target("AVX2"));
  EXPECT_FALSE(bf16_dot_products());
  EXPECT_STREQ(kernel_target_name(), "AVX2");
  EXPECT_FALSE(bf16_dot_products());
  hwy::DisableTargets(0);
  EXPECT_EQ(kernel_target_name(), best);
  EXPECT_EQ(bf16_dot_products(), had_instruction);
}

TEST(GemmBF16, EmptyShapesWriteNothing) {
  std::vector<float> c(4, 3.0f);
  const float a[4] = {1, 2, 3, 4};
  const uint16_t b[4] = {0x3f80, 0x3f80, 0x3f80, 0x3f80};
  gemm_bf16_abt(0, 2, 2, b, 2, b, 2, c.data(), 2, 1.0f);
  gemm_bf16_ab_acc(2, 2, 0, a, 2, b, 2, c.data(), 2);
  for (float v : c) EXPECT_EQ(v, 3.0f);
}

}  // namespace
}  // namespace whale
