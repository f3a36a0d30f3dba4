#include "runtime/kv_cache.h"

#include <new>

namespace whale {

uint64_t KvCache::bytes_for(const KvLayout& layout, int64_t capacity) {
  return uint64_t(layout.n_layers) * uint64_t(capacity) * uint64_t(layout.floats_per_token) *
         sizeof(float);
}

Result<KvCache> KvCache::create(const KvLayout& layout, int64_t capacity) {
  if (capacity <= 0)
    return make_error("context length must be positive (got %lld)", (long long)capacity);
  // 1 TiB is far beyond any machine whale targets; it also keeps the size arithmetic exact.
  const uint64_t bytes = bytes_for(layout, capacity);
  if (capacity > (int64_t(1) << 32) || bytes > (uint64_t(1) << 40))
    return make_error("a KV cache of %lld tokens is too large", (long long)capacity);
  KvCache c;
  c.layout_ = layout;
  c.capacity_ = capacity;
  try {
    c.data_.assign(size_t(bytes / sizeof(float)), 0.0f);
  } catch (const std::bad_alloc&) {
    return make_error(
        "cannot allocate %.1f MiB for a KV cache of %lld tokens (try a smaller "
        "--context)",
        double(bytes) / 1048576.0, (long long)capacity);
  }
  return c;
}

}  // namespace whale
