// Register tiles are templates on their row count; a product's leftover rows (fewer than a full
// tile) are a run-time count. with_row_count turns one into the other.
#pragma once

#include <cstdint>
#include <utility>

namespace whale {

// Calls f.template operator()<R>() with R = n for 1 <= n < kMax, and R = kMax for n >= kMax.
template <int kMax, class F>
inline void with_row_count(int64_t n, F&& f) {
  if constexpr (kMax > 1) {
    if (n < kMax) return with_row_count<kMax - 1>(n, std::forward<F>(f));
  }
  f.template operator()<kMax>();
}

}  // namespace whale
