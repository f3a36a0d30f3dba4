// The server's KV memory: a fixed pool of per-sequence KV caches ("slots") under a memory
// budget, which doubles as a prefix cache.
//
// A slot remembers the tokens its cache holds after its sequence ends. A new prompt takes the
// idle slot that already holds its longest prefix (least recently used among equals, so an
// unrelated prompt evicts the coldest entry); if another slot, running or idle, holds a longer
// prefix, those KV rows are copied over. Either way the reused tokens are not recomputed:
// they are the prompt's cache hits (prompt_cache_hit_tokens). Sharing is by copy, not by
// reference, because the engine's caches are contiguous per sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "runtime/kv_cache.h"

namespace whale {

class PrefixCache {
 public:
  // Slots of `context` tokens, as many as `budget_bytes` holds (at least one); allocated on
  // first use so an idle server holds no KV memory.
  PrefixCache(KvLayout layout, int64_t context, uint64_t budget_bytes);

  size_t slot_count() const { return slots_.size(); }
  size_t busy_count() const { return busy_; }
  int64_t context() const { return context_; }
  uint64_t slot_bytes() const { return KvCache::bytes_for(layout_, context_); }
  uint64_t allocated_bytes() const;
  // Tokens held by busy slots (the KV actually in use by running sequences).
  int64_t busy_tokens() const;

  struct Acquired {
    int slot = -1;
    int64_t reused = 0;  // prompt tokens whose KV is already in the slot
  };
  // A free slot for `prompt` with its longest cached prefix in place (at most prompt.size() - 1
  // tokens, since the last prompt token must run to give logits). Error when every slot is busy
  // or the memory cannot be allocated.
  Result<Acquired> acquire(std::span<const int32_t> prompt);
  // The sequence ended; the slot keeps its tokens for later prompts.
  void release(int slot);
  // Frees the memory of slots idle since before `cutoff` (their cached prefixes are forgotten),
  // so an idle server returns to its baseline memory. Returns how many were freed.
  size_t trim(std::chrono::steady_clock::time_point cutoff);
  // Idle slots that still hold memory.
  size_t idle_allocated() const;

  KvCache& cache(int slot) { return *slots_[size_t(slot)].cache; }
  // Tokens whose KV the slot holds, in order; callers append what they evaluate.
  std::vector<int32_t>& tokens(int slot) { return slots_[size_t(slot)].tokens; }

 private:
  struct Slot {
    std::optional<KvCache> cache;
    std::vector<int32_t> tokens;
    bool busy = false;
    uint64_t last_used = 0;
    std::chrono::steady_clock::time_point idle_since;
  };
  static size_t common_prefix(const std::vector<int32_t>& a, std::span<const int32_t> b);
  void copy_rows(int from, int to, int64_t n);

  KvLayout layout_;
  int64_t context_;
  std::vector<Slot> slots_;
  size_t busy_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace whale
