// Shared by the SIMD kernel tests: a body run once per SIMD target that is both compiled in and
// supported by this CPU (Highway's dynamic dispatch then picks that target), and seeded
// normal-distributed inputs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "hwy/targets.h"

namespace whale::test {

template <typename Body>
void for_each_simd_target(Body body) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

// n floats drawn from N(0, scale^2), seeded: the same values on every run and machine.
inline std::vector<float> random_vec(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace whale::test
