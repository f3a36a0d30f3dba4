// Memory read bandwidth of this machine, the budget of decoding (STYLE.md 7): every decode step
// streams the active weights from memory once, so tok/s <= bandwidth / bytes per token.
#pragma once

#include <cstddef>

#include "platform/result.h"

namespace whale::cli {

// Far beyond any last-level cache, small enough to fit beside a loaded model.
constexpr size_t kMembwBufferBytes = size_t(512) << 20;

struct ReadBandwidth {
  double bytes_per_s = 0;
  bool huge_pages = false;  // the buffer was mapped in 2 MiB pages
};

// Bytes per second that `threads` threads read from a buffer of `bytes` (each thread sums its
// own contiguous share; best of several passes). An Error when the buffer cannot be allocated.
Result<ReadBandwidth> measure_read_bandwidth(int threads, size_t bytes);

}  // namespace whale::cli
