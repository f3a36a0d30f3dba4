#include "cli/membw.h"

#include <chrono>
#include <vector>

#include "kernels/kernels.h"
#include "platform/huge_pages.h"
#include "platform/thread_pool.h"

namespace whale::cli {

Result<ReadBandwidth> measure_read_bandwidth(int threads, size_t bytes) {
  // In the pages the weights get (2 MiB where the kernel gives them, see huge_pages.h).
  HugeBuffer mem(bytes);
  if (!mem.data()) return make_error("cannot allocate %zu MiB for the bandwidth test", bytes >> 20);
  float* buf = static_cast<float*>(mem.data());
  ThreadPool pool(threads);
  const size_t n = bytes / sizeof(float);
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
      sums[size_t(t)] += dot_f32(buf + b, buf + b, int64_t(e - b));
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pass > 0) best = std::max(best, double(n * sizeof(float)) / s);  // pass 0: warm-up
  }
  float total = 0.0f;
  for (float v : sums) total += v;
  if (!(total > 0.0f)) return make_error("bandwidth test: unexpected checksum");
  return ReadBandwidth{best, huge_mapped_bytes(mem.data()) > 0};
}

}  // namespace whale::cli
