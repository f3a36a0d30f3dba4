// The sampler's logit-row passes (kernels/logit_kernels.h) against scalar loops on every SIMD
// target this CPU supports: NaN replacement, first index of the maximum (ties, -inf, a maximum
// in the scalar tail), and the f64 exp pass (values, banned -inf tokens, underflow, the sum).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "hwy/targets.h"
#include "kernels/logit_kernels.h"
#include "simd_test_util.h"

namespace whale {
namespace {

using test::for_each_simd_target;
using test::random_vec;

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(LogitKernels, CopyReplacesNanOnly) {
  for_each_simd_target([] {
    for (size_t n : {0, 1, 7, 16, 33, 1000}) {
      auto src = random_vec(n, uint32_t(n), 4.0f);
      for (size_t i = 0; i < n; i += 5) src[i] = std::nanf("");
      if (n > 3) src[3] = -kInf;
      std::vector<float> dst(n, 1.0f);
      copy_logits_nan_to_neg_inf(src.data(), dst.data(), int64_t(n));
      for (size_t i = 0; i < n; ++i) {
        if (std::isnan(src[i]))
          ASSERT_EQ(dst[i], -kInf) << i;
        else
          ASSERT_EQ(dst[i], src[i]) << i;
      }
    }
  });
}

TEST(LogitKernels, IndexOfMaxIsTheFirstMaximum) {
  for_each_simd_target([] {
    for (size_t n : {1, 2, 15, 16, 17, 129, 129280}) {
      auto x = random_vec(n, uint32_t(7 + n), 4.0f);
      ASSERT_EQ(index_of_max(x.data(), int64_t(n)), index_of_max_reference(x.data(), int64_t(n)));
      // Ties: the lowest index wins, wherever the copies are (vector body or scalar tail).
      const float top = 100.0f;
      x[n - 1] = top;
      ASSERT_EQ(index_of_max(x.data(), int64_t(n)), int64_t(n - 1));
      if (n > 2) {
        x[n / 2] = top;
        ASSERT_EQ(index_of_max(x.data(), int64_t(n)), int64_t(n / 2));
      }
      std::vector<float> banned(n, -kInf);
      ASSERT_EQ(index_of_max(banned.data(), int64_t(n)), 0);
    }
    EXPECT_EQ(index_of_max(nullptr, 0), 0);
  });
}

TEST(LogitKernels, ExpScaledMatchesStdExp) {
  for_each_simd_target([] {
    for (size_t n : {1, 3, 8, 31, 1000, 129280}) {
      auto x = random_vec(n, uint32_t(n), 4.0f);
      x[0] = -kInf;                // a banned token
      if (n > 2) x[2] = -4000.0f;  // underflows to 0
      const double shift = 12.5, scale = 1.0 / 0.6;
      std::vector<double> got(n, -1.0), want(n);
      const double sum = exp_scaled_f64(x.data(), int64_t(n), shift, scale, got.data());
      const double want_sum =
          exp_scaled_f64_reference(x.data(), int64_t(n), shift, scale, want.data());
      for (size_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 4e-16 * want[i]) << i;
      ASSERT_EQ(got[0], 0.0);
      ASSERT_NEAR(sum, want_sum, 1e-13 * want_sum);
    }
  });
}

}  // namespace
}  // namespace whale
