// Per-thread scratch that only grows: after the largest shape has been seen once, products
// allocate nothing in their token loops (STYLE.md 11), without every caller threading buffers
// through. Shrinking and regrowing would zero-fill each time, so nothing is ever given back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace whale {

template <typename T>
T* grow_scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// At least `bytes` of v from a 64-byte boundary (lane layouts and register images are read
// with aligned loads).
inline uint8_t* grow_aligned(std::vector<uint8_t>& v, size_t bytes) {
  uint8_t* p = grow_scratch(v, bytes + 64);
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63));
}

}  // namespace whale
