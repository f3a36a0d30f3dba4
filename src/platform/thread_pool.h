// A fixed set of worker threads and one primitive: parallel_for (STYLE.md 12).
//
//   ThreadPool pool;                       // one thread per CPU this process may run on
//   pool.parallel_for(rows, [&](size_t begin, size_t end, int thread) {
//     for (size_t r = begin; r < end; ++r) out[r] = dot(w + r * k, x, k);
//   });
//
// Why this shape: a decode step of a language model is a few hundred short parallel loops
// (each matmul, each attention head block), so the cost of one call is what matters, not
// scheduling flexibility. The range is cut into one contiguous block per thread, block t =
// [n*t/T, n*(t+1)/T) (deterministic: the same n always gives the same blocks, so per-block
// partial sums reduce the same way on every run), and the body receives the block's index as
// its "thread" index (scratch keyed by it is never shared: each block runs exactly once).
// Which OS thread runs a block is not fixed: the caller and the workers claim blocks with an
// atomic counter, so a worker that sleeps or has lost its core to another process (a busy
// server: network threads, other programs) does not stall the call; the caller runs that
// block itself. Workers wait on a generation counter: they spin briefly (a call usually
// follows the previous one within microseconds) and then sleep on a futex (C++20 atomic
// wait), so an idle pool costs no CPU. A call allocates nothing: the body is passed by
// reference through a function pointer, never copied into a std::function.
//
// Rules for the body: it must not throw (whale does not use exceptions across layers; one
// escaping a worker ends the process). It is called at most once per block index per call,
// never with an empty range.
//
// Nesting and concurrency: calls from different threads are serialized (one parallel region
// at a time per pool). A call made from inside a body of the same pool cannot fan out again
// (every thread is busy), so it runs the whole range inline on the calling thread with that
// thread's index: correct, just not parallel.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace whale {

class ThreadPool {
 public:
  // n_threads <= 0: default_thread_count(). The pool starts n_threads - 1 workers; the caller
  // of parallel_for is the remaining one.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads taking part in a call, the caller included, and the number of blocks a call is
  // cut into. Block ("thread") indices are 0..size()-1.
  int size() const { return n_threads_; }

  // CPUs this process may run on (sched affinity, so containers and `taskset` are honoured);
  // at least 1.
  static int default_thread_count();

  // Calls fn(begin, end, thread_index) over disjoint blocks that cover [0, n) exactly once,
  // and returns when all are done. Everything written by the bodies is visible afterwards.
  template <typename Fn>
  void parallel_for(size_t n, Fn&& fn) {
    using Body = std::remove_reference_t<Fn>;
    run(n, &invoke_body<Body>, const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using BodyFn = void (*)(void* ctx, size_t begin, size_t end, int thread_index);

  template <typename Body>
  static void invoke_body(void* ctx, size_t begin, size_t end, int thread_index) {
    (*static_cast<Body*>(ctx))(begin, end, thread_index);
  }

  void run(size_t n, BodyFn body, void* ctx);
  void worker_main(int worker_index);
  void run_block(int block_index);  // one block of the current job
  void run_claimed_blocks();        // claims and runs blocks until none is left

  const int n_threads_;
  const int spin_iterations_;  // busy-wait budget before yielding (0 when oversubscribed)
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel region at a time

  // The current job; written by the caller before it bumps generation_ (release), read by
  // workers after they observe the new generation (acquire).
  BodyFn job_body_ = nullptr;
  void* job_ctx_ = nullptr;
  size_t job_n_ = 0;

  // Wake-up protocol. generation_ counts jobs (a worker looks for blocks of job g once it sees
  // g); pending_ counts blocks of the current job not finished yet. sleeping_workers_ and
  // caller_sleeping_ let the fast path skip the futex wake syscall when nobody sleeps.
  // Both sides use seq_cst for "announce sleep, then re-check" so a wake-up cannot be lost.
  // claim_ = (generation << 32) | next unclaimed block: callers and workers take blocks with
  // a compare-exchange, so each block of a job runs exactly once, on whichever thread got it.
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stop_{false};
};

}  // namespace whale
