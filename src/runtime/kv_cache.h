// One sequence's KV cache: memory for `capacity` positions of every layer, laid out as the
// model's KvLayout says (MLA: normalized latent + roped shared key per token, ~70 KB/token for
// DeepSeek-V3 in f32 instead of ~4.9 MB for expanded per-head keys and values).
//
// A cache either owns one contiguous block, [n_layers][capacity x values_per_token] (create: the
// CLI, sessions, tests; attention reads each layer's keys as one dense run), or has no memory of
// its own and maps pages of kPageTokens positions that its owner supplies (over_pages: the
// server, whose pages come from a PagePool and may be shared with other sequences through the
// prefix cache). KvView addresses both.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"
#include "platform/huge_pages.h"
#include "platform/result.h"

namespace whale {

class KvCache {
 public:
  static constexpr int64_t kPageShift = 4;
  static constexpr int64_t kPageTokens = int64_t(1) << kPageShift;
  // The page shift of an owned cache: one page covers any capacity create() accepts.
  static constexpr int64_t kWholeShift = 40;

  // capacity: the context length in tokens (> 0). Too large a request is an Error, not a
  // bad_alloc.
  static Result<KvCache> create(const KvLayout& layout, int64_t capacity);
  // An empty cache whose pages (page_bytes() each) the caller adds with push_page; its capacity
  // is the pages' tokens.
  static KvCache over_pages(const KvLayout& layout);

  KvCache() = default;
  KvCache(KvCache&&) = default;
  KvCache& operator=(KvCache&&) = default;
  KvCache(const KvCache&) = delete;  // the page table points into data_
  KvCache& operator=(const KvCache&) = delete;

  int64_t capacity() const { return owned() ? capacity_ : int64_t(pages_.size()) * kPageTokens; }
  // Positions [0, length) hold valid entries.
  int64_t length() const { return length_; }
  void set_length(int64_t n) { length_ = n; }
  // Memory this cache addresses (owned, or the mapped pages).
  size_t bytes() const {
    return owned() ? data_.bytes() : pages_.size() * size_t(page_bytes(layout_));
  }
  const KvLayout& layout() const { return layout_; }
  KvView view() const {
    if (owned()) return KvView::over(pages_.data(), kWholeShift, capacity_, layout_);
    return KvView::over(pages_.data(), kPageShift, kPageTokens, layout_);
  }

  // The page table of an over_pages cache. Page i holds positions [i, i + 1) * kPageTokens.
  size_t page_count() const { return pages_.size(); }
  float* page(size_t i) const { return pages_[i]; }
  void push_page(float* p) { pages_.push_back(p); }
  void set_page(size_t i, float* p) { pages_[i] = p; }
  void clear_pages() {
    pages_.clear();
    length_ = 0;
  }

  // Bytes of one page of kPageTokens, and of a cache of `capacity` tokens (whole pages).
  static uint64_t page_bytes(const KvLayout& layout);
  static uint64_t bytes_for(const KvLayout& layout, int64_t capacity);

 private:
  bool owned() const { return data_.data() != nullptr; }

  KvLayout layout_;
  int64_t capacity_ = 0;
  int64_t length_ = 0;
  HugeBuffer data_;  // decode streams through all of it per token
  std::vector<float*> pages_;
};

}  // namespace whale
