#include "runtime/kv_cache.h"

#include <algorithm>
#include <new>

namespace whale {

uint64_t KvCache::page_bytes(const KvLayout& layout) {
  return uint64_t(layout.n_layers) * uint64_t(kPageTokens) * uint64_t(layout.values_per_token) *
         uint64_t(layout.bytes_per_value());
}

uint64_t KvCache::bytes_for(const KvLayout& layout, int64_t capacity) {
  const uint64_t pages = (uint64_t(capacity) + uint64_t(kPageTokens) - 1) / uint64_t(kPageTokens);
  return pages * page_bytes(layout);
}

Result<KvCache> KvCache::create(const KvLayout& layout, int64_t capacity) {
  if (capacity <= 0)
    return make_error("context length must be positive (got %lld)", (long long)capacity);
  // 1 TiB is far beyond any machine whale targets; it also keeps the size arithmetic exact.
  if (capacity > (int64_t(1) << 32) || bytes_for(layout, capacity) > (uint64_t(1) << 40))
    return make_error("a KV cache of %lld tokens is too large", (long long)capacity);
  const uint64_t bytes = uint64_t(layout.n_layers) * uint64_t(capacity) *
                         uint64_t(layout.values_per_token) * uint64_t(layout.bytes_per_value());
  KvCache c;
  c.layout_ = layout;
  c.capacity_ = capacity;
  // At least one float so an empty layout still counts as owned memory; whole floats (an f16
  // cache of an odd size rounds up). Fresh anonymous memory reads as zero.
  c.data_ = HugeBuffer(std::max<size_t>(1, size_t((bytes + sizeof(float) - 1) / sizeof(float))) *
                       sizeof(float));
  if (!c.data_.data())
    return make_error(
        "cannot allocate %.1f MiB for a KV cache of %lld tokens (try a smaller "
        "--context)",
        double(bytes) / 1048576.0, (long long)capacity);
  c.pages_.assign(1, static_cast<float*>(c.data_.data()));
  return c;
}

KvCache KvCache::over_pages(const KvLayout& layout) {
  KvCache c;
  c.layout_ = layout;
  return c;
}

}  // namespace whale
