// The scheduler on a tiny random DeepSeek-V3: concurrent requests (continuous batching, chunked
// prefill, prefix reuse) produce the same greedy tokens as each request alone; cancellation and
// queue limits; the paged KV memory: prefix-cache hits in whole pages (shared while the first
// user still runs), copy on write, admission under the page budget, pages freed on finish and
// cancel, and the idle server back to no KV memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "runtime/scheduler.h"

namespace whale {
namespace {

constexpr int64_t P = KvCache::kPageTokens;

std::string tiny_model() {
  static std::string dir;
  if (!dir.empty()) return dir;
  dir = ::testing::TempDir() + "whale_sched_" + std::to_string(::getpid());
  const std::string cmd = std::string("/usr/bin/python3 ") + WHALE_SOURCE_DIR +
                          "/tools/gen/make_tiny_hf.py deepseek-v3 " + dir + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

// Collects one request's updates; wait() is bounded so a hang fails instead of blocking.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false, started = false;
  FinishReason finish{};
  std::string text;
  std::vector<GeneratedToken> tokens;
  GenerationUsage usage;

  UpdateSink sink() {
    return [this](GenerationUpdate&& u) {
      std::lock_guard lock(mu);
      started |= u.started;
      text += u.reasoning + u.content;
      tokens.insert(tokens.end(), u.tokens.begin(), u.tokens.end());
      if (u.done) {
        done = true;
        finish = u.finish;
        usage = u.usage;
        cv.notify_all();
      }
    };
  }
  bool wait() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(120), [&] { return done; });
  }
};

GenerationRequest greedy(std::vector<int32_t> prompt, int64_t max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.top_logprobs = 2;
  return r;
}

std::vector<int32_t> prompt_of(int seed, size_t n) {
  std::vector<int32_t> p;
  for (size_t i = 0; i < n; ++i) p.push_back(int32_t(1 + (seed * 131 + i * 17) % 200));
  return p;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = Engine::load(tiny_model());
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e.value();
    auto t = Tokenizer::from_path(tiny_model());
    ASSERT_TRUE(t) << t.error().message;
    tok_ = std::make_unique<Tokenizer>(t.value());
  }
  std::unique_ptr<Scheduler> make(SchedulerOptions o) {
    return std::make_unique<Scheduler>(engine_, *tok_, o);
  }
  void expect_half_cache_keeps_the_tokens(KvType type, double tol);
  std::shared_ptr<const Engine> engine_;
  std::unique_ptr<Tokenizer> tok_;
};

// Same greedy tokens, or a divergence only where the top two candidates were a near tie
// (batched and single evaluation differ in float rounding, not in math).
// tol: how far a logprob may move (and what counts as a near tie).
void expect_same_greedy(const Collector& alone, const Collector& batched, double tol = 1e-3) {
  size_t n = std::min(alone.tokens.size(), batched.tokens.size());
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(alone.tokens[i].logprob, batched.tokens[i].logprob, tol) << "token " << i;
    if (alone.tokens[i].token != batched.tokens[i].token) {
      ASSERT_GE(alone.tokens[i].top.size(), 2u);
      EXPECT_LT(alone.tokens[i].top[0].logprob - alone.tokens[i].top[1].logprob, tol)
          << "diverged at token " << i << " without a near tie";
      return;
    }
  }
  EXPECT_EQ(alone.tokens.size(), batched.tokens.size());
}

TEST_F(SchedulerTest, ConcurrentEqualsAlone) {
  SchedulerOptions o;
  o.context = 256;
  o.kv_budget_bytes = 64ull << 20;
  o.max_running = 8;
  o.prefill_chunk = 7;  // prompts span several steps, interleaved with decoding
  const int n = 6;
  std::vector<Collector> alone(n), together(n);
  {
    auto s = make(o);
    for (int i = 0; i < n; ++i) {
      auto a = s->submit(greedy(prompt_of(i, 5 + 9 * i), 12), alone[i].sink());
      ASSERT_EQ(a.kind, Admission::Kind::kAccepted) << a.message;
      ASSERT_TRUE(alone[i].wait());
    }
  }
  auto s = make(o);
  for (int i = 0; i < n; ++i) {
    auto a = s->submit(greedy(prompt_of(i, 5 + 9 * i), 12), together[i].sink());
    ASSERT_EQ(a.kind, Admission::Kind::kAccepted) << a.message;
  }
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(together[i].wait());
    EXPECT_TRUE(together[i].started);
    EXPECT_EQ(together[i].usage.prompt_tokens, int64_t(5 + 9 * i));
    expect_same_greedy(alone[i], together[i]);
  }
  // Everything ended: the batch is empty and all slots are free (the gauges are refreshed
  // after the step that sent the last update: poll, bounded).
  auto m = s->metrics();
  for (int i = 0; i < 500 && m.running != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = s->metrics();
  }
  EXPECT_EQ(m.running, 0);
  EXPECT_EQ(m.kv_slots_busy, 0);
  EXPECT_EQ(m.requests_finished, uint64_t(n));
}

TEST_F(SchedulerTest, PrefixReuseGivesSameTokensAndCountsHits) {
  SchedulerOptions o;
  o.context = 256;
  o.kv_budget_bytes = 64ull << 20;
  auto s = make(o);
  Collector first, second;
  auto p = prompt_of(3, 40);
  ASSERT_EQ(s->submit(greedy(p, 10), first.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(first.wait());
  EXPECT_EQ(first.usage.cache_hit_tokens, 0);
  ASSERT_EQ(s->submit(greedy(p, 10), second.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(second.wait());
  // Whole pages of the 40-token prompt; the first run cached 3 (prompt + output).
  EXPECT_EQ(second.usage.cache_hit_tokens, 2 * P);
  expect_same_greedy(first, second);
}

// An f16 or bf16 cache through the server's pages: the same budget holds twice the pages,
// requests share prefix pages as with f32, and greedy decoding follows the f32 run's tokens (or
// departs only at a near tie: the cache's rounding is ~1e-3 of a logit for f16, a few 1e-3 for
// bf16, whose attention is also computed in bf16).
void SchedulerTest::expect_half_cache_keeps_the_tokens(KvType type, double tol) {
  auto half = Engine::load(tiny_model(), 0, type);
  ASSERT_TRUE(half) << half.error().message;
  SchedulerOptions o;
  o.context = 256;
  o.kv_budget_bytes = 4ull << 20;
  auto exact = make(o);
  auto s = std::make_unique<Scheduler>(half.value(), *tok_, o);
  EXPECT_EQ(s->metrics().kv_pages_total, 2 * exact->metrics().kv_pages_total);
  const auto p = prompt_of(5, 40);
  Collector want, first, second;
  ASSERT_EQ(exact->submit(greedy(p, 10), want.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(want.wait());
  ASSERT_EQ(s->submit(greedy(p, 10), first.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(first.wait());
  ASSERT_EQ(s->submit(greedy(p, 10), second.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(second.wait());
  EXPECT_EQ(second.usage.cache_hit_tokens, 2 * P);
  expect_same_greedy(want, first, tol);
  expect_same_greedy(first, second);
}

TEST_F(SchedulerTest, F16CacheDoublesThePagesAndKeepsTheTokens) {
  expect_half_cache_keeps_the_tokens(KvType::kF16, 1e-3);
}

TEST_F(SchedulerTest, BF16CacheDoublesThePagesAndKeepsTheTokens) {
  expect_half_cache_keeps_the_tokens(KvType::kBF16, 1e-2);
}

TEST_F(SchedulerTest, CancelAndLimits) {
  SchedulerOptions o;
  o.context = 64;
  o.kv_budget_bytes = 64ull << 20;
  o.max_running = 1;
  o.max_queue = 1;
  auto s = make(o);
  Collector running, queued, refused;
  auto a = s->submit(greedy(prompt_of(1, 4), -1), running.sink());
  ASSERT_EQ(a.kind, Admission::Kind::kAccepted);
  auto b = s->submit(greedy(prompt_of(2, 4), 3), queued.sink());
  ASSERT_EQ(b.kind, Admission::Kind::kAccepted);
  // Depending on timing the second one is queued or already taken: either way a third beyond
  // queue + batch is refused while the first runs until the context is full.
  Admission c;
  for (int i = 0; i < 3 && (c = s->submit(greedy(prompt_of(3, 4), 3), refused.sink())).kind ==
                               Admission::Kind::kAccepted;
       ++i) {
  }
  a.ticket->cancel();
  ASSERT_TRUE(running.wait());
  EXPECT_TRUE(running.finish == FinishReason::kCancelled ||
              running.finish == FinishReason::kLength);
  ASSERT_TRUE(queued.wait());
  EXPECT_EQ(queued.finish, FinishReason::kLength);
  EXPECT_EQ(queued.usage.completion_tokens, 3);

  // Invalid requests never queue.
  EXPECT_EQ(s->submit(greedy({}, 1), Collector().sink()).kind, Admission::Kind::kInvalid);
  EXPECT_EQ(s->submit(greedy(prompt_of(1, 65), 1), Collector().sink()).kind,
            Admission::Kind::kInvalid);
  EXPECT_EQ(s->submit(greedy({int32_t(engine_->vocab_size())}, 1), Collector().sink()).kind,
            Admission::Kind::kInvalid);
  auto bad = greedy(prompt_of(1, 3), 1);
  bad.sampling.top_p = 2;
  EXPECT_EQ(s->submit(bad, Collector().sink()).kind, Admission::Kind::kInvalid);
}

TEST_F(SchedulerTest, ContextFullEndsWithLength) {
  SchedulerOptions o;
  o.context = 16;
  o.kv_budget_bytes = 16ull << 20;
  auto s = make(o);
  Collector c;
  ASSERT_EQ(s->submit(greedy(prompt_of(5, 10), -1), c.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(c.finish, FinishReason::kLength);  // no end-of-sequence ids: only the context ends it
  EXPECT_EQ(c.usage.completion_tokens, 16 - 10 + 1);
}

// Polls the gauges (refreshed after each engine step) until `done` holds; bounded.
template <class Pred>
SchedulerMetrics wait_metrics(Scheduler& s, Pred done) {
  auto m = s.metrics();
  for (int i = 0; i < 1000 && !done(m); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = s.metrics();
  }
  return m;
}

TEST_F(SchedulerTest, ExactRepeatCopiesTheLastPage) {
  SchedulerOptions o;
  o.context = 256;
  o.kv_budget_bytes = 64ull << 20;
  auto s = make(o);
  Collector first, second;
  auto p = prompt_of(4, 3 * size_t(P));  // whole pages only
  ASSERT_EQ(s->submit(greedy(p, 6), first.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(first.wait());
  ASSERT_EQ(s->submit(greedy(p, 6), second.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(second.wait());
  EXPECT_EQ(second.usage.cache_hit_tokens, 3 * P - 1);  // all but the token that gives logits
  expect_same_greedy(first, second);
}

TEST_F(SchedulerTest, SharedPrefixHitsForConcurrentRequestsAndPagesAreFreed) {
  SchedulerOptions o;
  o.context = 256;
  o.kv_budget_bytes = 64ull << 20;
  o.prefill_chunk = 8;
  auto s = make(o);
  auto system = prompt_of(9, 40);  // 2 whole pages + 8 tokens
  auto with_tail = [&](int tail) {
    auto q = system;
    for (int i = 0; i < 5; ++i) q.push_back(int32_t(210 + tail * 5 + i));
    return q;
  };
  // The first user's prompt pages are cached as soon as they are computed; two more requests
  // sharing its system prompt, submitted while it may still run, both map them.
  Collector a, b, c;
  ASSERT_EQ(s->submit(greedy(with_tail(0), 30), a.sink()).kind, Admission::Kind::kAccepted);
  wait_metrics(*s, [](const SchedulerMetrics& m) { return m.kv_pages_cached >= 2; });
  ASSERT_EQ(s->submit(greedy(with_tail(1), 4), b.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_EQ(s->submit(greedy(with_tail(2), 4), c.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(a.wait() && b.wait() && c.wait());
  EXPECT_EQ(a.usage.cache_hit_tokens, 0);
  EXPECT_EQ(b.usage.cache_hit_tokens, 2 * P);
  EXPECT_EQ(c.usage.cache_hit_tokens, 2 * P);
  // Alone, the same requests give the same tokens.
  Collector b_alone;
  {
    auto fresh = make(o);
    ASSERT_EQ(fresh->submit(greedy(with_tail(1), 4), b_alone.sink()).kind,
              Admission::Kind::kAccepted);
    ASSERT_TRUE(b_alone.wait());
  }
  expect_same_greedy(b_alone, b);
  // Finished: only the prefix cache holds pages (whole ones; partial pages were freed).
  auto m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.running == 0; });
  EXPECT_EQ(m.running, 0);
  EXPECT_GT(m.kv_pages_cached, 2);
  EXPECT_EQ(m.kv_pages_used, m.kv_pages_cached);
  EXPECT_EQ(m.kv_tokens_busy, 0);
  EXPECT_EQ(m.prompt_tokens, 3u * 45u);
  EXPECT_EQ(m.cache_hit_tokens, 2u * 2u * uint64_t(P));
}

TEST_F(SchedulerTest, CancelFreesPagesAndIdleMemoryReturnsToZero) {
  SchedulerOptions o;
  o.context = 32768;  // far more than it generates before the cancel lands
  o.kv_budget_bytes = 64ull << 20;
  o.kv_idle_seconds = 0.2;
  auto s = make(o);
  Collector forever;
  auto a = s->submit(greedy(prompt_of(2, 21), -1), forever.sink());
  ASSERT_EQ(a.kind, Admission::Kind::kAccepted);
  wait_metrics(*s, [](const SchedulerMetrics& m) { return m.generated_tokens > 0; });
  a.ticket->cancel();
  ASSERT_TRUE(forever.wait());
  EXPECT_EQ(forever.finish, FinishReason::kCancelled);
  auto m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.running == 0; });
  EXPECT_EQ(m.kv_pages_used, m.kv_pages_cached);  // the partial page went at once
  // Idle: cached pages are evicted after kv_idle_seconds and their memory freed.
  m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.kv_bytes_allocated == 0; });
  EXPECT_EQ(m.kv_bytes_allocated, 0u);
  EXPECT_EQ(m.kv_pages_used, 0);
  EXPECT_EQ(m.kv_pages_cached, 0);
  EXPECT_GT(m.kv_pages_evicted, 0u);
}

TEST_F(SchedulerTest, AdmissionReservesPagesWithinTheBudget) {
  SchedulerOptions o;
  o.context = 256;
  o.kv_budget_bytes = KvCache::page_bytes(engine_->kv_layout()) * 4;  // 64 tokens
  auto s = make(o);
  // prompt 20 + 20 new tokens: 3 pages each, so the second waits for the first.
  Collector a, b, too_big;
  ASSERT_EQ(s->submit(greedy(prompt_of(1, 20), 20), a.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_EQ(s->submit(greedy(prompt_of(2, 20), 20), b.sink()).kind, Admission::Kind::kAccepted);
  // Without max_tokens a request reserves the whole context, which this budget cannot hold.
  ASSERT_EQ(s->submit(greedy(prompt_of(3, 20), -1), too_big.sink()).kind,
            Admission::Kind::kAccepted);
  ASSERT_TRUE(a.wait() && b.wait() && too_big.wait());
  EXPECT_EQ(a.finish, FinishReason::kLength);
  EXPECT_EQ(b.finish, FinishReason::kLength);
  EXPECT_EQ(b.usage.completion_tokens, 20);
  EXPECT_EQ(too_big.finish, FinishReason::kError);
  auto m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.running == 0; });
  EXPECT_EQ(m.kv_pages_total, 4);
  // a and b each filled two pages; b's last page took the room of a's second (least recently
  // used, a leaf that no sequence mapped).
  EXPECT_EQ(m.kv_pages_cached, 3);
  EXPECT_EQ(m.kv_pages_evicted, 1u);
  // A third prompt needs room again: a's first page, then b's second are evicted for it.
  Collector c;
  ASSERT_EQ(s->submit(greedy(prompt_of(4, 20), 20), c.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(c.finish, FinishReason::kLength);
  m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.running == 0; });
  EXPECT_EQ(m.kv_pages_evicted, 3u);
  EXPECT_LE(m.kv_pages_used, 4);
  // b's first page is still cached: b's prompt hits it.
  Collector b2;
  ASSERT_EQ(s->submit(greedy(prompt_of(2, 20), 2), b2.sink()).kind, Admission::Kind::kAccepted);
  ASSERT_TRUE(b2.wait());
  EXPECT_EQ(b2.usage.cache_hit_tokens, P);
}

TEST_F(SchedulerTest, MemoryBoundAdmissionCountsFewerSlots) {
  // KV memory for one whole-context reservation: one sequence runs at a time although the batch
  // holds 16, and the queue (max 1 beyond the free slots) must be judged by that.
  SchedulerOptions o;
  o.context = 8192;  // a request without max_tokens runs ~8k tokens: long enough to look
  o.kv_budget_bytes = KvCache::page_bytes(engine_->kv_layout()) * (o.context / P);
  o.max_running = 16;
  o.max_queue = 1;
  auto s = make(o);
  EXPECT_EQ(s->metrics().admission_slots, 16);
  Collector a, b, c;
  auto ta = s->submit(greedy(prompt_of(1, 4), -1), a.sink());
  ASSERT_EQ(ta.kind, Admission::Kind::kAccepted);
  ASSERT_EQ(s->submit(greedy(prompt_of(2, 4), 4), b.sink()).kind, Admission::Kind::kAccepted);
  auto m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.admission_slots == 1; });
  ASSERT_EQ(m.running, 1);
  ASSERT_EQ(m.queue_depth, 1);
  // With 15 batch slots counted free, c would be queued behind b; memory says it is second in
  // line for one slot, past max_queue: refused at once.
  const Admission r = s->submit(greedy(prompt_of(3, 4), 4), c.sink());
  EXPECT_EQ(r.kind, Admission::Kind::kOverloaded);
  EXPECT_GE(r.retry_after_seconds, 1.0);
  EXPECT_FALSE(a.done) << "the test needs `a` to run longer";
  ta.ticket->cancel();
  ASSERT_TRUE(a.wait() && b.wait());
  EXPECT_EQ(b.finish, FinishReason::kLength);
  // Nothing waits any more: the batch is the limit again.
  m = wait_metrics(*s, [](const SchedulerMetrics& m) { return m.running == 0; });
  EXPECT_EQ(m.admission_slots, 16);
}

}  // namespace
}  // namespace whale
