#include "cli/membw.h"

#include <chrono>
#include <new>
#include <vector>

#include "kernels/kernels.h"
#include "platform/thread_pool.h"

namespace whale::cli {

Result<double> measure_read_bandwidth(int threads, size_t bytes) {
  std::vector<float> buf;
  try {
    buf.resize(bytes / sizeof(float));
  } catch (const std::bad_alloc&) {
    return make_error("cannot allocate %zu MiB for the bandwidth test", bytes >> 20);
  }
  ThreadPool pool(threads);
  const size_t n = buf.size();
  // Touch every page from the threads that will read it (first-touch NUMA placement).
  pool.parallel_for(n, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) buf[i] = 1.0f;
  });
  // dot(a, a) reads one stream; its few FMAs per cache line keep it memory-bound. The sums are
  // kept so the reads cannot be optimized away.
  std::vector<float> sums(size_t(threads), 0.0f);
  double best = 0.0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(n, [&](size_t b, size_t e, int t) {
      sums[size_t(t)] += dot_f32(buf.data() + b, buf.data() + b, int64_t(e - b));
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pass > 0) best = std::max(best, double(n * sizeof(float)) / s);  // pass 0: warm-up
  }
  float total = 0.0f;
  for (float v : sums) total += v;
  if (!(total > 0.0f)) return make_error("bandwidth test: unexpected checksum");
  return best;
}

}  // namespace whale::cli
