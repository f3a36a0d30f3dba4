#include "runtime/prefix_cache.h"

#include <algorithm>
#include <cstring>

namespace whale {

PrefixCache::PrefixCache(KvLayout layout, int64_t context, uint64_t budget_bytes)
    : layout_(layout), context_(context) {
  const uint64_t per_slot = std::max<uint64_t>(1, KvCache::bytes_for(layout, context));
  const uint64_t n = std::clamp<uint64_t>(budget_bytes / per_slot, 1, 4096);
  slots_.resize(size_t(n));
}

uint64_t PrefixCache::allocated_bytes() const {
  uint64_t n = 0;
  for (const auto& s : slots_)
    if (s.cache) n += s.cache->bytes();
  return n;
}

int64_t PrefixCache::busy_tokens() const {
  int64_t n = 0;
  for (const auto& s : slots_)
    if (s.busy) n += int64_t(s.tokens.size());
  return n;
}

size_t PrefixCache::common_prefix(const std::vector<int32_t>& a, std::span<const int32_t> b) {
  size_t n = 0, m = std::min(a.size(), b.size());
  while (n < m && a[n] == b[n]) ++n;
  return n;
}

void PrefixCache::copy_rows(int from, int to, int64_t n) {
  KvView src = slots_[size_t(from)].cache->view();
  KvView dst = slots_[size_t(to)].cache->view();
  const size_t bytes = size_t(n) * size_t(layout_.floats_per_token) * sizeof(float);
  for (int64_t layer = 0; layer < layout_.n_layers; ++layer)
    std::memcpy(dst.at(layer, 0), src.at(layer, 0), bytes);
}

Result<PrefixCache::Acquired> PrefixCache::acquire(std::span<const int32_t> prompt) {
  const size_t usable = prompt.empty() ? 0 : prompt.size() - 1;
  // The idle slot to take: longest prefix, then least recently used.
  int pick = -1;
  size_t pick_len = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.busy) continue;
    size_t len = std::min(common_prefix(s.tokens, prompt), usable);
    if (pick < 0 || len > pick_len ||
        (len == pick_len && s.last_used < slots_[size_t(pick)].last_used)) {
      pick = int(i);
      pick_len = len;
    }
  }
  if (pick < 0) return make_error("no free KV slot");
  Slot& slot = slots_[size_t(pick)];
  if (!slot.cache) {
    auto c = KvCache::create(layout_, context_);
    if (!c) return c.error();
    slot.cache.emplace(std::move(c.value()));
  }
  // A longer prefix elsewhere (e.g. a shared system prompt a running sequence just computed).
  int donor = -1;
  size_t donor_len = pick_len;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (int(i) == pick || !slots_[i].cache) continue;
    size_t len = std::min(common_prefix(slots_[i].tokens, prompt), usable);
    if (len > donor_len) {
      donor = int(i);
      donor_len = len;
    }
  }
  size_t reused = pick_len;
  if (donor >= 0) {
    copy_rows(donor, pick, int64_t(donor_len));
    reused = donor_len;
  }
  slot.tokens.assign(prompt.begin(), prompt.begin() + std::ptrdiff_t(reused));
  slot.cache->set_length(int64_t(reused));
  slot.busy = true;
  slot.last_used = ++clock_;
  ++busy_;
  return Acquired{pick, int64_t(reused)};
}

void PrefixCache::release(int slot) {
  Slot& s = slots_[size_t(slot)];
  if (!s.busy) return;
  s.busy = false;
  s.last_used = ++clock_;
  s.idle_since = std::chrono::steady_clock::now();
  --busy_;
}

size_t PrefixCache::trim(std::chrono::steady_clock::time_point cutoff) {
  size_t n = 0;
  for (auto& s : slots_) {
    if (s.busy || !s.cache || s.idle_since >= cutoff) continue;
    s.cache.reset();
    s.tokens = std::vector<int32_t>();
    ++n;
  }
  return n;
}

size_t PrefixCache::idle_allocated() const {
  size_t n = 0;
  for (const auto& s : slots_)
    if (!s.busy && s.cache) ++n;
  return n;
}

}  // namespace whale
