#include "runtime/page_pool.h"

#include <algorithm>
#include <new>

#include "platform/result.h"

namespace whale {

PagePool::PagePool(uint64_t page_bytes, uint64_t budget_bytes)
    : page_bytes_(std::max<uint64_t>(page_bytes, sizeof(float))),
      capacity_(size_t(std::clamp<uint64_t>(budget_bytes / page_bytes_, 1, uint64_t(INT32_MAX)))) {}

PagePool::~PagePool() = default;

// A page counts as cached-idle while the prefix cache holds it and nothing else does.
void PagePool::count(const Page& pg, int sign) {
  if (pg.cached && pg.refs == 1) cached_idle_ = size_t(int64_t(cached_idle_) + sign);
}

PagePool::PageId PagePool::allocate() {
  PageId id = kNoPage;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    if (live_ >= capacity_) return kNoPage;
    if (!unbacked_.empty()) {
      id = unbacked_.back();
      unbacked_.pop_back();
    } else {
      id = PageId(pages_.size());
      pages_.emplace_back();
    }
    Page& pg = pages_[size_t(id)];
    pg.data.reset(new (std::nothrow) float[page_bytes_ / sizeof(float)]());
    if (!pg.data) {
      unbacked_.push_back(id);
      return kNoPage;
    }
    ++allocated_;
  }
  Page& pg = pages_[size_t(id)];
  pg.refs = 1;
  pg.cached = false;
  ++live_;
  return id;
}

void PagePool::retain(PageId p) {
  Page& pg = pages_[size_t(p)];
  WHALE_CHECK(pg.refs > 0, "retain of a free KV page");
  count(pg, -1);
  ++pg.refs;
}

void PagePool::release(PageId p) {
  Page& pg = pages_[size_t(p)];
  WHALE_CHECK(pg.refs > 0, "release of a free KV page");
  count(pg, -1);
  --pg.refs;
  count(pg, +1);
  if (pg.refs == 0) {
    pg.cached = false;
    --live_;
    free_.push_back(p);
  }
}

void PagePool::set_cached(PageId p, bool cached) {
  Page& pg = pages_[size_t(p)];
  count(pg, -1);
  pg.cached = cached;
  count(pg, +1);
}

size_t PagePool::trim() {
  const size_t n = free_.size();
  for (PageId p : free_) {
    pages_[size_t(p)].data.reset();
    unbacked_.push_back(p);
  }
  allocated_ -= n;
  free_.clear();
  // Release the bookkeeping too once nothing is live (the vectors are sized by the peak).
  if (live_ == 0) {
    pages_ = std::vector<Page>();
    unbacked_ = std::vector<PageId>();
    free_ = std::vector<PageId>();
  }
  return n;
}

}  // namespace whale
