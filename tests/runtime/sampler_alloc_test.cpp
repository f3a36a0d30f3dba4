// The token loop allocates nothing (STYLE.md 11): after construction, Sampler::sample and
// accept must not call operator new, whatever the settings. Counted by replacing the global
// operator new of this test binary (plain malloc underneath, so other tests are unaffected).
// Sanitizer builds keep their own allocator, and the check is skipped there.
#if defined(__GNUC__) && !defined(__clang__)
// GCC sees the replaced delete inlined next to new-expressions and reports a malloc/free
// pairing it cannot prove matches; here both sides are malloc/free by construction.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "runtime/sampler.h"

#if defined(__SANITIZE_ADDRESS__)
#define WHALE_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WHALE_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef WHALE_COUNT_ALLOCATIONS
#define WHALE_COUNT_ALLOCATIONS 1
#endif

#if WHALE_COUNT_ALLOCATIONS
namespace {
std::atomic<long> g_allocations{0};
}
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

namespace whale {
namespace {

TEST(SamplerAllocations, NoneInTheTokenLoop) {
#if !WHALE_COUNT_ALLOCATIONS
  GTEST_SKIP() << "allocation counting is off under the address sanitizer";
#else
  const size_t V = 5000;
  std::vector<float> logits(V);
  for (size_t i = 0; i < V; ++i) logits[i] = float(std::sin(double(i)) * 4);
  std::vector<SamplingParams> settings(5);
  settings[0].temperature = 0;
  settings[1].top_k = 40;
  settings[1].top_p = 0.9f;
  settings[2].top_p = 0.95f;
  settings[2].repetition_penalty = 1.3f;
  settings[2].presence_penalty = 0.5f;
  settings[3].min_p = 0.05f;
  settings[3].penalty_last_n = -1;
  settings[4].logit_bias = {{3, -INFINITY}, {7, 2.0f}};
  for (const auto& p : settings) {
    auto s = Sampler::create(p, V);
    ASSERT_TRUE(s.ok());
    s->sample(logits, 5);  // the first call may size the logprob list
    const long before = g_allocations.load();
    for (int i = 0; i < 200; ++i) {
      int32_t t = s->sample(logits, i % 2 ? 5 : -1).token;
      s->accept(t);
    }
    EXPECT_EQ(g_allocations.load() - before, 0) << "temperature " << p.temperature;
  }
#endif
}

}  // namespace
}  // namespace whale
