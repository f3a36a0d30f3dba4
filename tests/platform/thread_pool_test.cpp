#include "platform/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace whale {
namespace {

// Every index in [0, n) is visited exactly once, ranges are non-empty, and thread indices are
// in range, for sizes around the thread count (empty blocks) and far above it.
TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.size(), threads);
    for (size_t n : {0, 1, 2, 3, 5, 6, 7, 8, 13, 100, 1000, 4097}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<int> bad_range{0}, bad_thread{0};
      pool.parallel_for(n, [&](size_t begin, size_t end, int t) {
        if (begin >= end || end > n) bad_range++;
        if (t < 0 || t >= threads) bad_thread++;
        for (size_t i = begin; i < end && i < n; ++i) hits[i]++;
      });
      EXPECT_EQ(bad_range.load(), 0) << threads << " " << n;
      EXPECT_EQ(bad_thread.load(), 0) << threads << " " << n;
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 1) << threads << " " << n << " " << i;
    }
  }
}

// Each thread index appears at most once per call, and the split is the documented
// contiguous one (thread t gets [n*t/T, n*(t+1)/T)), so callers can rely on determinism.
TEST(ThreadPool, OneContiguousBlockPerThread) {
  ThreadPool pool(4);
  std::vector<size_t> begins(4, SIZE_MAX), ends(4, SIZE_MAX);
  std::atomic<int> calls{0};
  pool.parallel_for(10, [&](size_t b, size_t e, int t) {
    begins[size_t(t)] = b;
    ends[size_t(t)] = e;
    calls++;
  });
  EXPECT_EQ(calls.load(), 4);
  EXPECT_EQ(begins, (std::vector<size_t>{0, 2, 5, 7}));
  EXPECT_EQ(ends, (std::vector<size_t>{2, 5, 7, 10}));
}

// Work really runs on more than one OS thread. Which thread runs a block is not fixed (the
// caller takes the blocks of a worker that has not started), so this repeats calls whose
// blocks take a while until a worker has run one; bounded, so a pool whose workers never run
// anything fails instead of hanging.
TEST(ThreadPool, WorkersRunBlocks) {
  ThreadPool pool(3);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> worker_ran{false};
  for (int call = 0; call < 20000 && !worker_ran.load(); ++call) {
    pool.parallel_for(3, [&](size_t, size_t, int) {
      if (std::this_thread::get_id() != caller) worker_ran = true;
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      while (std::chrono::steady_clock::now() < until) {
      }
    });
  }
  EXPECT_TRUE(worker_ran.load());
}

// Each block index runs once per call even when the workers are slow to start: a pool with
// more threads than this machine has cores, where most calls finish before a worker wakes.
TEST(ThreadPool, EveryBlockOnceWhenOversubscribed) {
  ThreadPool pool(ThreadPool::default_thread_count() + 6);
  const int T = pool.size();
  for (int call = 0; call < 2000; ++call) {
    std::vector<std::atomic<int>> runs(static_cast<size_t>(T));
    pool.parallel_for(size_t(T) * 3, [&](size_t b, size_t e, int t) {
      ASSERT_EQ(b, size_t(3 * t));
      ASSERT_EQ(e, size_t(3 * t + 3));
      runs[size_t(t)]++;
    });
    for (int t = 0; t < T; ++t) ASSERT_EQ(runs[size_t(t)].load(), 1) << "call " << call;
  }
}

// Writes made by the bodies are visible to the caller after the call returns.
TEST(ThreadPool, ResultsVisibleAfterReturn) {
  ThreadPool pool(4);
  std::vector<uint64_t> out(10000);
  for (int round = 0; round < 50; ++round) {
    pool.parallel_for(out.size(), [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; ++i) out[i] = i * uint64_t(round + 1);
    });
    uint64_t sum = 0;
    for (uint64_t v : out) sum += v;
    ASSERT_EQ(sum, uint64_t(round + 1) * (9999u * 10000u / 2));
  }
}

// A nested call on the same pool runs inline on the calling thread (no deadlock) and still
// covers its range exactly once.
TEST(ThreadPool, NestedCallRunsInline) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(4 * 50);
  std::atomic<int> wrong_thread{0};
  pool.parallel_for(4, [&](size_t b, size_t e, int outer_t) {
    for (size_t i = b; i < e; ++i) {
      pool.parallel_for(50, [&](size_t ib, size_t ie, int inner_t) {
        if (inner_t != outer_t || ib != 0 || ie != 50) wrong_thread++;
        for (size_t j = ib; j < ie; ++j) hits[i * 50 + j]++;
      });
    }
  });
  EXPECT_EQ(wrong_thread.load(), 0);
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

// Two pools may nest inside each other (a different pool is free to fan out).
TEST(ThreadPool, OtherPoolNests) {
  ThreadPool outer(2), inner(2);
  std::atomic<int> total{0};
  outer.parallel_for(2, [&](size_t, size_t, int) {
    inner.parallel_for(10, [&](size_t b, size_t e, int) { total += int(e - b); });
  });
  EXPECT_EQ(total.load(), 20);
}

// Calls from several external threads at once are serialized, never mixed up.
TEST(ThreadPool, ConcurrentCallersAreSerialized) {
  ThreadPool pool(3);
  std::vector<std::thread> callers;
  std::atomic<int> errors{0};
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&, c] {
      for (int r = 0; r < 200; ++r) {
        std::vector<int> v(97, 0);
        pool.parallel_for(v.size(), [&](size_t b, size_t e, int) {
          for (size_t i = b; i < e; ++i) v[i] += c + 1;
        });
        for (int x : v)
          if (x != c + 1) errors++;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(errors.load(), 0);
}

// The decode-step pattern: very many tiny calls. Asserts completion and correctness only (no
// timing); a lost wake-up would hang here and fail by the test timeout.
TEST(ThreadPool, ManyTinyCallsComplete) {
  ThreadPool pool(std::min(4, ThreadPool::default_thread_count() + 1));
  uint64_t counter = 0;
  std::vector<uint64_t> per_thread(size_t(pool.size()), 0);
  for (int call = 0; call < 100000; ++call) {
    pool.parallel_for(size_t(pool.size()),
                      [&](size_t b, size_t e, int t) { per_thread[size_t(t)] += e - b; });
  }
  for (uint64_t v : per_thread) counter += v;
  EXPECT_EQ(counter, 100000u * uint64_t(pool.size()));
}

TEST(ThreadPool, DefaultSizeIsAtLeastOne) {
  EXPECT_GE(ThreadPool::default_thread_count(), 1);
  ThreadPool pool;
  EXPECT_EQ(pool.size(), ThreadPool::default_thread_count());
  ThreadPool neg(-3);
  EXPECT_EQ(neg.size(), ThreadPool::default_thread_count());
}

// Construction and destruction with no calls, and destruction right after calls, are clean
// (workers asleep or spinning both exit).
TEST(ThreadPool, CreateAndDestroyRepeatedly) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(3);
    if (i % 2) pool.parallel_for(3, [](size_t, size_t, int) {});
  }
}

}  // namespace
}  // namespace whale
