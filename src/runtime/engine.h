// Engine: a loaded model, immutable and shared by every session (STYLE.md 2). It evaluates
// batches against caller-owned KV caches and workspaces, so any number of sequences can run
// through one engine.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/model_config.h"
#include "model/model.h"
#include "platform/result.h"
#include "platform/thread_pool.h"
#include "runtime/batch.h"
#include "runtime/kv_cache.h"

namespace whale {

class Engine {
 public:
  // A .gguf file or a Hugging Face checkpoint directory. n_threads: threads of the engine's
  // pool for every forward pass (<= 0: one per CPU this process may use). kv_type: how the
  // caches made from kv_layout() store their values.
  static Result<std::shared_ptr<const Engine>> load(const std::string& path, int n_threads = 0,
                                                    KvType kv_type = KvType::kF32);

  // Threads a forward pass uses.
  int threads() const { return pool_->size(); }
  // Those threads, for the caller's own per-sequence work between forward passes (the
  // scheduler's sampling); regions from different callers take turns.
  ThreadPool& pool() const { return *pool_; }

  const ModelConfig& config() const { return model_->config(); }
  KvLayout kv_layout() const {
    KvLayout l = model_->kv_layout();
    l.type = kv_type_;
    return l;
  }
  int64_t vocab_size() const { return config().vocab_size; }

  // Evaluates `batch`. caches[s] is sequence s's cache. For every sequence in the batch its
  // tokens must have consecutive positions p0, p0+1, ... with p0 <= its cache's length (p0 below
  // the length rewinds: later entries are overwritten) and fit in its capacity; the cache length
  // becomes the last position + 1. `logits` receives one vocab_size row per wanted token, in
  // batch order. Bad token ids, positions or seq ids and context overflow are Errors, and then
  // no cache is modified.
  Status forward(const Batch& batch, std::span<KvCache* const> caches, Workspace& ws,
                 std::vector<float>& logits, MlaForm form = MlaForm::kAuto) const;

  // Longer batches are evaluated in pieces of this many tokens (same result, bounded memory).
  static constexpr int64_t kMaxForwardTokens = 2048;

 private:
  // One model pass over tokens [begin, end) of a validated batch (at most kMaxForwardTokens);
  // their wanted rows of logits go to `logits` in batch order. Returns how many rows.
  size_t forward_piece(const Batch& batch, size_t begin, size_t end,
                       std::span<KvCache* const> caches, Workspace& ws, float* logits,
                       MlaForm form) const;

  std::unique_ptr<Model> model_;
  KvType kv_type_ = KvType::kF32;
  // Shared by all callers; parallel regions from concurrent forward calls take turns.
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace whale
