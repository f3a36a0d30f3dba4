#include "runtime/radix_cache.h"

#include <algorithm>
#include <queue>

#include "platform/result.h"

namespace whale {

struct RadixCache::Node {
  Node* parent = nullptr;
  PageTokens tokens{};
  PageId page = PagePool::kNoPage;
  uint64_t last_tick = 0;
  Clock::time_point last_used{};
  std::map<PageTokens, std::unique_ptr<Node>> children;
};

namespace {

RadixCache::PageTokens key_of(std::span<const int32_t> tokens) {
  RadixCache::PageTokens k{};
  std::copy_n(tokens.begin(), k.size(), k.begin());
  return k;
}

}  // namespace

RadixCache::RadixCache(PagePool& pool) : pool_(pool), root_(std::make_unique<Node>()) {}

RadixCache::~RadixCache() {
  // Iterative, so a long chain of pages cannot overflow the stack.
  std::vector<std::unique_ptr<Node>> stack;
  for (auto& [k, c] : root_->children) stack.push_back(std::move(c));
  while (!stack.empty()) {
    std::unique_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    for (auto& [k, c] : n->children) stack.push_back(std::move(c));
    pool_.set_cached(n->page, false);
    pool_.release(n->page);
  }
}

RadixCache::PageId RadixCache::page_of(const Node* n) {
  return n ? n->page : PagePool::kNoPage;
}

RadixCache::Node* RadixCache::parent_of(const Node* n) {
  return n && n->parent && n->parent->parent ? n->parent : nullptr;
}

void RadixCache::touch(Node* n, Clock::time_point now) {
  ++tick_;
  for (; n && n != root_.get(); n = n->parent) {
    n->last_tick = tick_;
    n->last_used = std::max(n->last_used, now);
  }
}

RadixCache::Match RadixCache::match(std::span<const int32_t> tokens, size_t max_pages,
                                    Clock::time_point now) {
  Match m;
  Node* n = root_.get();
  const size_t P = size_t(KvCache::kPageTokens);
  for (size_t i = 0; i < max_pages && (i + 1) * P <= tokens.size(); ++i) {
    auto it = n->children.find(key_of(tokens.subspan(i * P, P)));
    if (it == n->children.end()) break;
    n = it->second.get();
    pool_.retain(n->page);
    m.pages.push_back(n->page);
  }
  if (n != root_.get()) {
    m.node = n;
    touch(n, now);
  }
  return m;
}

RadixCache::Node* RadixCache::insert(Node* parent, std::span<const int32_t> tokens, PageId page,
                                     Clock::time_point now) {
  WHALE_CHECK(tokens.size() == size_t(KvCache::kPageTokens), "radix insert of a partial page");
  if (!parent) parent = root_.get();
  auto [it, added] = parent->children.try_emplace(key_of(tokens));
  if (added) {
    auto n = std::make_unique<Node>();
    n->parent = parent;
    n->tokens = it->first;
    n->page = page;
    pool_.retain(page);
    pool_.set_cached(page, true);
    it->second = std::move(n);
    ++size_;
  }
  touch(it->second.get(), now);
  return it->second.get();
}

// Peels leaves that no sequence maps (the tree's reference is the page's only one), least
// recently used first, while pick(node) agrees; a parent whose last child went becomes a
// candidate in turn. Sequences map whole root paths, so an unmapped node never has a mapped
// descendant and every unmapped page is reachable this way.
template <class Pick>
size_t RadixCache::evict_where(size_t limit, Pick pick) {
  if (limit == 0 || size_ == 0) return 0;
  auto older = [](const Node* a, const Node* b) { return a->last_tick > b->last_tick; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(older)> leaves(older);
  auto evictable = [&](const Node* n) {
    return n != root_.get() && n->children.empty() && pool_.refs(n->page) == 1 && pick(n);
  };
  std::vector<Node*> stack = {root_.get()};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (evictable(n)) leaves.push(n);
    for (auto& [k, c] : n->children) stack.push_back(c.get());
  }
  size_t evicted = 0;
  while (evicted < limit && !leaves.empty()) {
    Node* n = leaves.top();
    leaves.pop();
    Node* parent = n->parent;
    pool_.set_cached(n->page, false);
    pool_.release(n->page);
    const PageTokens key = n->tokens;  // erase destroys n
    parent->children.erase(key);
    --size_;
    ++evicted;
    if (evictable(parent)) leaves.push(parent);
  }
  return evicted;
}

size_t RadixCache::evict(size_t n) {
  return evict_where(n, [](const Node*) { return true; });
}

size_t RadixCache::evict_idle(Clock::time_point cutoff) {
  return evict_where(size_, [&](const Node* n) { return n->last_used < cutoff; });
}

}  // namespace whale
