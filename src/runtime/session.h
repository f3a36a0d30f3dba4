// Session: one conversation's state on a shared Engine: its KV cache (sized from a context
// length), workspace and last logits. Single-sequence convenience over Engine::forward; the
// server batches many sequences through Engine::forward directly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/engine.h"

namespace whale {

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Engine> engine,
                                                 int64_t context_length);

  // Appends tokens at the end of the sequence in one batch (prefill). With all_logits every
  // token's logits are kept, else only the last one's.
  Status eval(std::span<const int32_t> tokens, bool all_logits = false,
              MlaForm form = MlaForm::kAuto);

  // Keeps the first n cached tokens (n <= n_past), so a shared prefix is not recomputed.
  void truncate(int64_t n);

  int64_t n_past() const { return cache_.length(); }
  int64_t context_length() const { return cache_.capacity(); }
  size_t kv_bytes() const { return cache_.bytes(); }
  // Logits of the i-th kept row of the last eval (vocab_size floats).
  std::span<const float> logits(size_t row = 0) const;
  size_t logit_rows() const { return logits_.size() / size_t(engine_->vocab_size()); }

 private:
  Session(std::shared_ptr<const Engine> engine, KvCache cache)
      : engine_(std::move(engine)), cache_(std::move(cache)) {}

  std::shared_ptr<const Engine> engine_;
  KvCache cache_;
  Workspace ws_;
  Batch batch_;
  std::vector<float> logits_;
};

}  // namespace whale
