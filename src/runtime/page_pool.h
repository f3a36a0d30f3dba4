// The server's KV memory: pages of KvCache::kPageTokens tokens (all layers) under a byte budget
// (--kv-memory). Pages are refcounted: each sequence whose page table maps a page holds one
// reference, and the prefix cache (radix_cache.h) holds one for every page it keeps. A page
// whose last reference goes returns to a free list; its memory is allocated on first use and
// handed back to the system by trim(), so an idle server returns to its baseline memory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace whale {

class PagePool {
 public:
  using PageId = int32_t;
  static constexpr PageId kNoPage = -1;

  // page_bytes > 0; the budget holds budget_bytes / page_bytes pages (at least one).
  PagePool(uint64_t page_bytes, uint64_t budget_bytes);
  ~PagePool();
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  uint64_t page_bytes() const { return page_bytes_; }
  // Pages the budget holds.
  size_t capacity() const { return capacity_; }
  // Pages with at least one reference.
  size_t live() const { return live_; }
  // Pages the prefix cache holds that no sequence uses (its reclaimable part).
  size_t cached_idle() const { return cached_idle_; }
  // Pages whose memory is allocated (live + free list).
  size_t allocated() const { return allocated_; }
  uint64_t allocated_bytes() const { return uint64_t(allocated_) * page_bytes_; }

  // A page with one reference, or kNoPage when every page of the budget is live (the caller may
  // evict cached pages and retry) or the memory cannot be allocated. Fresh memory is zeroed; a
  // recycled page keeps stale (finite) values: callers only read positions they wrote.
  PageId allocate();
  void retain(PageId p);
  // Drops a reference; the last one puts the page on the free list.
  void release(PageId p);
  int32_t refs(PageId p) const { return pages_[size_t(p)].refs; }
  float* data(PageId p) const { return pages_[size_t(p)].data.get(); }

  // Marks whether the prefix cache holds the page (for cached_idle()).
  void set_cached(PageId p, bool cached);
  bool cached(PageId p) const { return pages_[size_t(p)].cached; }

  // Frees the memory of every page on the free list; returns how many.
  size_t trim();

 private:
  struct Page {
    std::unique_ptr<float[]> data;
    int32_t refs = 0;
    bool cached = false;
  };
  void count(const Page& pg, int sign);

  uint64_t page_bytes_;
  size_t capacity_;
  std::vector<Page> pages_;       // grows up to capacity_ entries
  std::vector<PageId> free_;      // refs == 0, memory allocated
  std::vector<PageId> unbacked_;  // refs == 0, no memory
  size_t live_ = 0, cached_idle_ = 0, allocated_ = 0;
};

}  // namespace whale
