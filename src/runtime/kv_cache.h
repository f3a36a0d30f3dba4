// One sequence's KV cache: memory for `capacity` positions of every layer, laid out as the
// model's KvLayout says (MLA: normalized latent + roped shared key per token, ~70 KB/token for
// DeepSeek-V3 in f32 instead of ~4.9 MB for expanded per-head keys and values).
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"
#include "platform/result.h"

namespace whale {

class KvCache {
 public:
  // capacity: the context length in tokens (> 0). Too large a request is an Error, not a
  // bad_alloc.
  static Result<KvCache> create(const KvLayout& layout, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  // Positions [0, length) hold valid entries.
  int64_t length() const { return length_; }
  void set_length(int64_t n) { length_ = n; }
  size_t bytes() const { return data_.size() * sizeof(float); }
  KvView view() { return {data_.data(), capacity_, layout_.floats_per_token}; }

  // Bytes a cache of `capacity` tokens needs (for messages before allocating).
  static uint64_t bytes_for(const KvLayout& layout, int64_t capacity);

 private:
  KvLayout layout_;
  int64_t capacity_ = 0;
  int64_t length_ = 0;
  std::vector<float> data_;
};

}  // namespace whale
