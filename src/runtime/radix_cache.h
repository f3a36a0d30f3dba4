// The server's prefix cache: a radix tree over whole KV pages. Each edge is labelled by the
// kPageTokens token ids of one page and each node owns that page (one PagePool reference), whose
// KV was computed for exactly the tokens on the path from the root. A new prompt walks the tree
// page by page (O(prompt pages)); the pages it matches are mapped into its page table by
// reference, not copied - they are its prompt cache hits. Sequences add each page to the tree
// the moment it is full, so a shared system prompt is found while its first user still runs,
// and a follow-up turn finds the previous turn's output.
//
// A page in the tree is shared read-only: a sequence only ever writes positions past its
// matched pages. Least recently used leaves that no sequence maps are evicted when the pool
// runs out of pages, and all of them once idle for a while (evict_idle).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "runtime/kv_cache.h"
#include "runtime/page_pool.h"

namespace whale {

class RadixCache {
 public:
  using PageId = PagePool::PageId;
  using Clock = std::chrono::steady_clock;
  using PageTokens = std::array<int32_t, size_t(KvCache::kPageTokens)>;
  struct Node;

  explicit RadixCache(PagePool& pool);
  ~RadixCache();  // releases every page it holds
  RadixCache(const RadixCache&) = delete;
  RadixCache& operator=(const RadixCache&) = delete;

  // The deepest node matching up to `max_pages` whole pages of `tokens`, and the matched pages
  // in order, each retained once for the caller (who releases them through the pool). The
  // path is marked as used now.
  struct Match {
    Node* node = nullptr;  // nullptr: nothing matched (the root)
    std::vector<PageId> pages;
  };
  Match match(std::span<const int32_t> tokens, size_t max_pages, Clock::time_point now);

  // Adds the full page `page`, holding `tokens` (kPageTokens ids), as the child of `parent`
  // (nullptr: the root) and retains it. If that child already exists (another sequence
  // computed the same tokens) nothing is added. Returns the child; its page may then differ
  // from `page`.
  Node* insert(Node* parent, std::span<const int32_t> tokens, PageId page, Clock::time_point now);
  static PageId page_of(const Node* n);
  // The node's parent (nullptr for a child of the root).
  static Node* parent_of(const Node* n);

  // Evicts up to n least recently used pages that no sequence maps, leaves first (a node is
  // evicted only after its children). Returns how many were evicted.
  size_t evict(size_t n);
  // Evicts every page that no sequence maps and that was last used before `cutoff`.
  size_t evict_idle(Clock::time_point cutoff);

  // Pages the tree holds.
  size_t size() const { return size_; }

 private:
  template <class Pick>
  size_t evict_where(size_t limit, Pick pick);
  void touch(Node* n, Clock::time_point now);

  PagePool& pool_;
  std::unique_ptr<Node> root_;
  size_t size_ = 0;
  uint64_t tick_ = 0;
};

}  // namespace whale
